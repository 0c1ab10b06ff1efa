"""Admin of marketing: the recruitment reward (拉新奖励) settings."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import SingletonAdmin

from ..models import RecruitmentRewardSettings


class RecruitmentRewardSettingsForm(forms.ModelForm):
    class Meta:
        model = RecruitmentRewardSettings
        fields = ("is_enabled", "amount", "daily_cap")
        help_texts = {
            "is_enabled": _(
                "When a customer who came through a distributor's link pays their first "
                "order ever, that distributor earns the reward below. Orders placed by "
                "distributors themselves bring no reward."
            ),
            "amount": _(
                "In yuan. It waits as pending money until that first order is completed and "
                "the commission plan's freeze period has passed, then the distributor can "
                "withdraw it. If the order is refunded in full, the reward is taken back; a "
                "partial refund keeps it."
            ),
            "daily_cap": _(
                "The most rewards one distributor can earn in one day. New customers past "
                "this number that day still shop as usual, but bring the distributor nothing."
            ),
        }


@admin.register(RecruitmentRewardSettings)
class RecruitmentRewardSettingsAdmin(SingletonAdmin):
    """One row: whether new customers earn their distributor a reward, how much, how often."""

    form = RecruitmentRewardSettingsForm
    fieldsets = (
        (
            None,
            {
                "fields": ("is_enabled", "amount", "daily_cap"),
                "description": _(
                    "A fixed reward for each new customer a distributor brings: paid once per "
                    "customer, on their first paid order. Rewards appear in the distributor's "
                    "earnings and in the bonuses list of the back office."
                ),
            },
        ),
    )
