"""core.money.format_percent: the one way a rate is shown (admin, plan errors, rule labels)."""

from decimal import Decimal

import pytest

from core.money import format_percent


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (Decimal("0.1000"), "10%"),
        (Decimal("0.0250"), "2.5%"),
        (Decimal("0.0060"), "0.6%"),
        (Decimal("1.0000"), "100%"),  # not 1E+2%
        (Decimal("0.0000"), "0%"),
        (None, ""),
    ],
)
def test_a_rate_is_shown_as_a_plain_percentage(rate, shown):
    assert format_percent(rate) == shown
