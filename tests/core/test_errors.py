"""core.errors.ServiceError: one base for the apps' refusals, shown where they belong."""

from django import forms

from commissions.withdrawals import BelowMinimum, WithdrawalError
from core.errors import ServiceError
from distributors.network import DistributorError, InvalidMove, UnknownInviteCode
from orders.services import OrderError
from payments.services import PaymentError


class JoinForm(forms.Form):
    invite_code = forms.CharField(required=False)


def test_every_apps_refusal_is_a_service_error():
    for error in (OrderError, PaymentError, DistributorError, WithdrawalError):
        assert issubclass(error, ServiceError)


def test_a_refusal_shows_on_the_field_it_names():
    form = JoinForm({"invite_code": "NOBODY00"})
    form.is_valid()
    UnknownInviteCode("This invite code does not exist.").add_to(form)
    assert form.errors == {"invite_code": ["This invite code does not exist."]}


def test_a_refusal_naming_a_field_the_form_lacks_shows_above_the_form():
    form = JoinForm({})
    form.is_valid()
    InvalidMove("Not under their own team.").add_to(form)
    assert form.non_field_errors() == ["Not under their own team."]
    assert BelowMinimum.field == "amount"  # withdrawals keep the fields they had
