from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

# A mainland China mobile number (手机号): 11 digits starting 13-19.
mainland_mobile = RegexValidator(
    r"^1[3-9][0-9]{9}$",
    _("Enter an 11-digit mainland mobile number, e.g. 13800138000."),
    code="invalid_mobile",
)


def full_name(first_name: str, last_name: str) -> str:
    """Given name 三 and family name 张 -> 张三; John and Smith -> John Smith (by the
    script the name is written in)."""
    first, last = first_name.strip(), last_name.strip()
    if any("\u2e80" <= char <= "\u9fff" for char in first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


class User(AbstractUser):
    """A person who signs in: shopper, distributor or merchant staff."""

    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    # The cart of the last session, kept at log-out and merged back at log-in
    # ({variant id: quantity}); the live cart is in the session.
    saved_cart = models.JSONField(_("saved cart"), default=dict, blank=True, editable=False)

    def get_full_name(self) -> str:
        """The name as its owner writes it: 张三 (family name first, no space) for a
        Chinese name, "John Smith" for a Latin one."""
        return full_name(self.first_name, self.last_name)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        swappable = "AUTH_USER_MODEL"
        constraints = [
            # One account per email address, whatever its case; accounts made by
            # WeChat sign-in have none (""), and any number of them may.
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="user_email_unique_ci",
                violation_error_message=_("This email address is already used by another account."),
            ),
        ]


class Address(models.Model):
    """A shipping address in a shopper's address book (收货地址). One is the default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="addresses",
    )
    recipient_name = models.CharField(_("recipient"), max_length=50)
    phone = models.CharField(_("mobile phone"), max_length=11, validators=[mainland_mobile])
    province = models.CharField(_("province"), max_length=20)
    city = models.CharField(_("city"), max_length=20)
    district = models.CharField(_("district"), max_length=20)
    detail = models.CharField(_("street and number"), max_length=120)
    is_default = models.BooleanField(_("default address"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(is_default=True),
                name="address_one_default_per_user",
            ),
        ]

    def __str__(self):
        return f"{self.recipient_name} {self.one_line}"

    @property
    def one_line(self) -> str:
        """The address as printed on a parcel: province city district, street."""
        return " ".join(
            part for part in (self.province, self.city, self.district, self.detail) if part
        )


class WeChatIdentity(models.Model):
    """A WeChat user as one official account sees them (微信身份).

    WeChat gives each AppID its own openid for a person; the unionid (when the
    account is tied to an open-platform account) is the same across AppIDs.
    The openid signs the person in and is what WeChat Pay JSAPI pays as.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="wechat_identities",
    )
    appid = models.CharField(_("AppID"), max_length=32)
    openid = models.CharField(_("openid"), max_length=64)
    unionid = models.CharField(_("unionid"), max_length=64, blank=True)
    nickname = models.CharField(_("WeChat nickname"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("bound at"), auto_now_add=True)

    class Meta:
        verbose_name = _("WeChat identity")
        verbose_name_plural = _("WeChat identities")
        constraints = [
            models.UniqueConstraint(
                fields=["appid", "openid"], name="wechat_identity_one_account_per_openid"
            ),
            models.UniqueConstraint(
                fields=["user", "appid"], name="wechat_identity_one_openid_per_account"
            ),
        ]

    def __str__(self):
        return self.nickname or self.openid
