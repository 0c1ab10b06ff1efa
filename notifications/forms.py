from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import mainland_mobile

from .models import Category, Channel, NotificationSettings
from .selectors import sms_categories


class NotificationSettingsForm(forms.Form):
    """通知设置: email and SMS per category, the mobile phone, the messages' language.

    One checkbox per (category, channel), named like the settings' fields
    (``email_orders``, ``sms_team``); SMS only for the categories that send any.
    """

    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=11,
        required=False,
        validators=[mainland_mobile],
        help_text=_("SMS go to this number. Leave it empty to receive no SMS."),
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "13800138000"}
        ),
    )
    language = forms.ChoiceField(
        label=_("Language of messages"),
        choices=settings.LANGUAGES,
        help_text=_("Site messages, emails and SMS are written in this language."),
    )

    def __init__(self, *args, prefs: NotificationSettings, phone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.sms_categories = sms_categories()
        self.channel_names = []
        for category in Category.values:
            for channel in Channel.values:
                if channel == Channel.SMS and category not in self.sms_categories:
                    continue
                name = f"{channel}_{category}"
                self.fields[name] = forms.BooleanField(
                    label=NotificationSettings._meta.get_field(name).verbose_name,
                    required=False,
                    initial=getattr(prefs, name),
                )
                self.channel_names.append(name)
        self.fields["phone"].initial = phone
        self.fields["language"].initial = prefs.language

    def clean_phone(self):
        return (self.cleaned_data.get("phone") or "").strip()

    @property
    def rows(self):
        """The grid: one row per category with its email and (where offered) SMS box."""
        for category in Category:
            yield {
                "category": category,
                "email": self[f"{Channel.EMAIL}_{category}"],
                "sms": self[f"{Channel.SMS}_{category}"]
                if category in self.sms_categories
                else None,
            }

    def channels(self) -> dict[str, bool]:
        return {name: self.cleaned_data[name] for name in self.channel_names}
