import pytest

from tests.accounts.helpers import saved_address


@pytest.fixture
def make_address():
    return saved_address
