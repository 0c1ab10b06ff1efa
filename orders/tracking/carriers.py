"""The carriers (快递公司) an order can be shipped with, by Kuaidi100's company codes.

A shipment stores the code (``shunfeng``); people see the translated name. A
carrier typed by hand (an admin form, a CSV column, an old free-text value) is
matched by code, name or a common short form (顺丰, SF, 中通 ...), so staff can
write what they are used to. The sandbox carrier exists only on a demo site
(settings.DEMO_SITE): a real shop cannot ship with a carrier that tracks nothing.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

SANDBOX = "sandbox"


@dataclass(frozen=True)
class Carrier:
    code: str  # Kuaidi100's company code (快递公司编码)
    name: object  # lazily translated
    aliases: tuple[str, ...] = ()


CARRIERS = (
    Carrier("shunfeng", _("SF Express"), ("顺丰", "顺丰速运", "顺丰快递", "SF", "SF Express")),
    Carrier("zhongtong", _("ZTO Express"), ("中通", "中通快递", "ZTO", "ZTO Express")),
    Carrier("yuantong", _("YTO Express"), ("圆通", "圆通速递", "圆通快递", "YTO", "YTO Express")),
    Carrier(
        "yunda", _("Yunda Express"), ("韵达", "韵达快递", "韵达速递", "Yunda", "Yunda Express")
    ),
    Carrier("shentong", _("STO Express"), ("申通", "申通快递", "STO", "STO Express")),
    Carrier(
        "jtexpress",
        _("J&T Express"),
        ("极兔", "极兔速递", "极兔快递", "J&T", "JT", "J&T Express", "JTSD"),
    ),
    Carrier("ems", _("EMS"), ("中国邮政EMS", "邮政EMS", "EMS快递")),
    Carrier("jd", _("JD Logistics"), ("京东", "京东物流", "京东快递", "JD", "JD Logistics")),
)
SANDBOX_CARRIER = Carrier(SANDBOX, _("Sandbox carrier"), ("Sandbox carrier", "沙箱", "测试快递"))

_ALL = {carrier.code: carrier for carrier in (*CARRIERS, SANDBOX_CARRIER)}
# Lower-cased code or alias (the names in English and Chinese among them) -> code. The
# lazy names are not read here: translations cannot load while the app registry loads.
_LOOKUP = {
    key.strip().lower(): carrier.code
    for carrier in _ALL.values()
    for key in (carrier.code, *carrier.aliases)
}


def offered() -> list[Carrier]:
    """The carriers staff may ship with here: the sandbox one only on a demo site."""
    return [*CARRIERS, SANDBOX_CARRIER] if settings.DEMO_SITE else list(CARRIERS)


def choices() -> list[tuple[str, str]]:
    """(code, name) pairs for a select."""
    return [(carrier.code, carrier.name) for carrier in offered()]


def normalise(text: str) -> str | None:
    """The code of the carrier `text` names (code, name or alias, any case); None if
    unknown or not offered here (the sandbox outside a demo site)."""
    code = _LOOKUP.get((text or "").strip().lower())
    if code == SANDBOX and not settings.DEMO_SITE:
        return None
    return code


def match_stored(text: str) -> str | None:
    """The code an old free-text value names, whatever the site (for data migrations)."""
    return _LOOKUP.get((text or "").strip().lower())


def display_name(code: str) -> str:
    """The name people read for a stored carrier: a value that is no code reads as stored."""
    carrier = _ALL.get(code)
    return str(carrier.name) if carrier else code
