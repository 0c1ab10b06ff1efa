"""A person's name as they write it: family name first in Chinese, given name first in Latin."""

import pytest

from accounts.models import full_name


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("三", "张", "张三"),
        ("秀英", "欧阳", "欧阳秀英"),
        ("John", "Smith", "John Smith"),
        ("", "张", "张"),
        ("John", "", "John"),
        ("", "", ""),
    ],
)
def test_the_full_name_follows_the_script_it_is_written_in(first, last, expected):
    assert full_name(first, last) == expected


@pytest.mark.django_db
def test_a_distributor_sees_a_customers_family_name_first_and_the_rest_hidden(make_user):
    from distributors.selectors import mask_name

    customer = make_user("buyer", first_name="飞", last_name="谢")

    assert mask_name(customer.get_full_name()) == "谢*"
