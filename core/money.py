"""Money: Decimal only, in yuan, quantized to the fen with one named rule.

Every amount that is stored or shown passes through `to_cents`. Commission
amounts round *down* (a distributor is never paid a fraction of a fen the
merchant did not earn); prices and totals are exact sums of cent amounts, so
rounding them down changes nothing.

`rounding` may name another rule where rounding down would be wrong: a sum the
database computed in floating point (SQLite) is a whole number of fen off by
float noise (-4e-16 for 0), and is read back with `ROUND_HALF_EVEN` (see
`from_db_sum`).
"""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Amounts are whole fen: comparing a database sum with X less half a fen is exact,
# also where SQLite adds decimals as floats (100.00 may come back as 99.9999999).
HALF_FEN = Decimal("0.005")
ROUNDING = ROUND_DOWN


def to_cents(value: Decimal | int | str, *, rounding: str = ROUNDING) -> Decimal:
    """Quantize `value` to the fen (0.01), rounding down unless told. Refuses floats."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    try:
        return Decimal(value).quantize(CENT, rounding=rounding)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc


def from_db_sum(value: Decimal | None) -> Decimal:
    """A database SUM of fen amounts, as the exact amount it stands for (None: 0.00)."""
    return ZERO if value is None else to_cents(value, rounding=ROUND_HALF_EVEN)


def format_cny(value: Decimal | None) -> str:
    """¥1,299.00 — the way prices are shown to people."""
    if value is None:
        return ""
    amount = to_cents(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def format_percent(rate: Decimal | None) -> str:
    """A rate (a fraction) as people read it: 0.1000 -> 10%, 0.0250 -> 2.5%."""
    if rate is None:
        return ""
    return f"{(Decimal(rate) * 100).normalize():f}%"
