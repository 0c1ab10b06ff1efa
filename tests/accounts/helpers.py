from accounts.models import Address
from accounts.services import save_address


def saved_address(
    user, where="上海市 上海市 浦东新区 世纪大道100号", *, phone="13800138000", **fields
):
    """Save an address to ``user``'s book; ``where`` is "province city district street"."""
    make_default = fields.pop("make_default", False)
    province, city, district, detail = where.split()
    address = Address(
        user=user,
        recipient_name=fields.pop("recipient_name", "张三"),
        phone=phone,
        province=province,
        city=city,
        district=district,
        detail=detail,
        **fields,
    )
    return save_address(address, make_default=make_default)
