"""Fixtures that point our WeChat Pay gateway at a FakeWechatPay on loopback.

Use with `pytest_plugins = ["tests.payments.wechatpay_fixtures"]` (and do not
import this module as well, or pytest cannot rewrite its asserts). The keys are
made once per session (RSA-2048 generation is the slow part); each test gets a
fresh fake and settings of its own, so the gateway's per-settings client cache
builds a new client for it.
"""

from dataclasses import dataclass

import pytest

from tests.fakes.wechatpay import (
    DEFAULT_PUBLIC_KEY_ID,
    FakeWechatPay,
    generate_private_key,
    new_serial_no,
    private_pem,
    public_pem,
)

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"


@dataclass(frozen=True)
class WechatPayKeys:
    merchant_private_key: str  # apiclient_key.pem
    merchant_public_key: str
    merchant_serial_no: str
    platform_private_key: str  # WeChat Pay's own, known only to the fake
    platform_public_key: str  # 微信支付公钥, given to the merchant
    other_private_key: str  # nobody's: forgeries are signed with it
    apiv3_key: str


@pytest.fixture(scope="session")
def wechatpay_keys() -> WechatPayKeys:
    merchant, platform, other = (generate_private_key() for _ in range(3))
    return WechatPayKeys(
        merchant_private_key=private_pem(merchant),
        merchant_public_key=public_pem(merchant),
        merchant_serial_no=new_serial_no(),
        platform_private_key=private_pem(platform),
        platform_public_key=public_pem(platform),
        other_private_key=private_pem(other),
        apiv3_key="a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"[::-1],  # 32 characters
    )


def start_fake(settings, tmp_path, keys: WechatPayKeys, mode: str) -> FakeWechatPay:
    fake = FakeWechatPay(
        mchid=MCHID,
        appid=APPID,
        merchant_public_key=keys.merchant_public_key,
        merchant_serial_no=keys.merchant_serial_no,
        platform_private_key=keys.platform_private_key,
        apiv3_key=keys.apiv3_key,
        public_key_id=DEFAULT_PUBLIC_KEY_ID,
        mode=mode,
    ).start()
    settings.PAYMENT_GATEWAYS = ["wechat", "sandbox"]
    settings.WECHATPAY_MCHID = MCHID
    settings.WECHATPAY_APPID = APPID
    settings.WECHATPAY_APIV3_KEY = keys.apiv3_key
    settings.WECHATPAY_PRIVATE_KEY = keys.merchant_private_key
    settings.WECHATPAY_CERT_SERIAL_NO = keys.merchant_serial_no
    settings.WECHATPAY_PUBLIC_KEY = keys.platform_public_key if mode == "public_key" else ""
    settings.WECHATPAY_PUBLIC_KEY_ID = DEFAULT_PUBLIC_KEY_ID if mode == "public_key" else ""
    settings.WECHATPAY_CERT_DIR = str(tmp_path / "wechatpay-certificates")
    settings.WECHATPAY_BASE_URL = fake.url
    settings.WECHATPAY_TRANSFER_SCENE_ID = "1005"
    return fake


@pytest.fixture
def fake_wechatpay(settings, tmp_path, wechatpay_keys):
    """WeChat Pay in public-key mode (微信支付公钥), the mode new merchants get."""
    fake = start_fake(settings, tmp_path, wechatpay_keys, "public_key")
    yield fake
    fake.stop()


@pytest.fixture
def fake_wechatpay_certificates(settings, tmp_path, wechatpay_keys):
    """WeChat Pay in platform-certificate mode (平台证书), downloaded from the fake."""
    fake = start_fake(settings, tmp_path, wechatpay_keys, "certificate")
    yield fake
    fake.stop()
