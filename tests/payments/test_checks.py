"""A gateway offered without its keys stops the site at start-up, naming the setting."""

from payments.checks import check_gateway_settings


def ids_and_settings(errors):
    return {(error.id, error.msg.split(" but ")[-1].split(" is")[0]) for error in errors}


def test_the_sandbox_alone_needs_nothing(settings):
    settings.PAYMENT_GATEWAYS = ["sandbox"]
    assert check_gateway_settings(None) == []


def test_alipay_without_its_keys_is_refused(settings):
    settings.PAYMENT_GATEWAYS = ["alipay"]
    settings.ALIPAY_APP_ID = ""
    settings.ALIPAY_APP_PRIVATE_KEY = settings.ALIPAY_PUBLIC_KEY = ""
    assert ids_and_settings(check_gateway_settings(None)) == {
        ("payments.E001", "ALIPAY_APP_ID"),
        ("payments.E001", "ALIPAY_APP_PRIVATE_KEY"),
        ("payments.E001", "ALIPAY_PUBLIC_KEY"),
    }


def test_a_key_file_that_cannot_be_read_is_refused(settings, fake_alipay):
    settings.ALIPAY_PUBLIC_KEY = "/nonexistent/alipay_public_key.pem"
    assert [error.id for error in check_gateway_settings(None)] == ["payments.E002"]


def test_a_configured_wechat_pay_passes_and_a_short_apiv3_key_does_not(settings, fake_wechatpay):
    assert check_gateway_settings(None) == []
    settings.WECHATPAY_APIV3_KEY = "too-short"
    assert [error.id for error in check_gateway_settings(None)] == ["payments.E004"]


def test_signing_in_with_another_official_account_than_wechat_pays_with_is_refused(
    settings, fake_wechatpay
):
    settings.WECHAT_OAUTH_SECRET = "secret"
    settings.WECHAT_OAUTH_APPID = "wx9999999999999999"
    assert [error.id for error in check_gateway_settings(None)] == ["payments.E005"]
    settings.WECHAT_OAUTH_APPID = settings.WECHATPAY_APPID
    assert check_gateway_settings(None) == []
