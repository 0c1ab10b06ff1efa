import pytest


@pytest.fixture
def make_address():
    from accounts.models import Address
    from accounts.services import save_address

    def make(user, *, make_default=False, **fields):
        values = {
            "recipient_name": "张三",
            "phone": "13800138000",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "detail": "世纪大道 100 号",
            **fields,
        }
        return save_address(Address(user=user, **values), make_default=make_default)

    return make
