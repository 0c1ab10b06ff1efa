"""Every event of an order, an earning and a team reaches the person it concerns:
one site message in their language, once whatever the repeats, and an email
when they have an address and want it."""

import uuid
from decimal import Decimal

import pytest
from django.core import mail

from commissions import services as commission_services
from commissions import withdrawals
from commissions.models import PayoutSettings
from distributors import applications, grades
from distributors.models import Grade, NetworkSettings
from notifications.models import Kind, NotificationSettings, SiteMessage
from orders import aftersale, refunds
from orders import services as order_services
from orders.models import AfterSaleRequest
from payments import services as payment_services
from payments.gateways import sandbox
from payments.gateways.base import Notification
from tests.orders.aftersale_helpers import pay, ship

pytestmark = pytest.mark.django_db


def inbox(user, kind) -> list[SiteMessage]:
    return list(SiteMessage.objects.filter(recipient=user, kind=kind))


def reads(user, language: str, **choices) -> None:
    """The person chose `language` (and these channels) in their settings."""
    NotificationSettings.objects.update_or_create(
        user=user, defaults={"language": language, **choices}
    )


def only(user, kind) -> SiteMessage:
    messages = inbox(user, kind)
    assert len(messages) == 1, messages
    return messages[0]


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", is_staff=True, is_superuser=True)


@pytest.fixture
def order(shopper, variant, address):
    return order_services.place_order(shopper, [(variant.pk, 1)], address=address)


@pytest.fixture
def paid(order):
    return pay(order)


# --- orders --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title"),
    [("en", "We received your order {}"), ("zh-hans", "我们已收到您的订单 {}")],
)
def test_placing_an_order_tells_the_shopper_once_even_when_the_checkout_is_replayed(
    shopper, variant, address, language, title, django_capture_on_commit_callbacks
):
    reads(shopper, language)
    token = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        order = order_services.place_order(
            shopper, [(variant.pk, 1)], address=address, checkout_token=token
        )
    with django_capture_on_commit_callbacks(execute=True):
        again = order_services.place_order(
            shopper, [(variant.pk, 1)], address=address, checkout_token=token
        )

    assert again == order
    message = only(shopper, Kind.ORDER_PLACED)
    assert message.title == title.format(order.number)
    assert message.link == order.get_absolute_url()
    assert [email.subject for email in mail.outbox] == [title.format(order.number)]


@pytest.mark.parametrize(
    ("language", "title"),
    [("en", "Payment received for order {}"), ("zh-hans", "订单 {} 已付款成功")],
)
def test_a_payment_notified_twice_tells_the_shopper_once(order, shopper, language, title):
    reads(shopper, language)
    payment = payment_services.start_payment(order, gateway_code="sandbox")
    params = sandbox.build_notification(payment)
    notification = Notification(
        reference=payment.reference,
        trade_no=params["trade_no"],
        amount=payment.amount,
        succeeded=True,
        payload=params,
    )
    payment_services.handle_notification("sandbox", notification)
    payment_services.handle_notification("sandbox", notification)

    assert only(shopper, Kind.ORDER_PAID).title == title.format(order.number)


@pytest.mark.parametrize(
    ("language", "title", "words"),
    [
        ("en", "Your order {} is on its way", "Tracking number: SBX100"),
        ("zh-hans", "您的订单 {} 已发货", "运单号: SBX100"),
    ],
)
def test_shipping_tells_the_shopper_the_carrier_and_tracking_number(
    paid, shopper, staff, language, title, words
):
    reads(shopper, language)
    ship(paid, staff)
    with pytest.raises(order_services.InvalidTransition):
        ship(paid, staff, tracking_number="OTHER")

    message = only(shopper, Kind.ORDER_SHIPPED)
    assert message.title == title.format(paid.number)
    assert words in message.body
    assert message.data["sms"]["tracking"] == "SBX100"


def test_the_carrier_delivering_and_the_shopper_confirming_tell_once(paid, shopper, staff):
    reads(shopper, "en")
    shipped = ship(paid, staff)
    order_services.mark_delivered(shipped)
    order_services.confirm_receipt(shipped, actor=shopper)
    order_services.confirm_overdue_receipts()

    message = only(shopper, Kind.ORDER_DELIVERED)
    assert message.title == f"Order {paid.number} delivered"
    assert "refund within 7 days" in message.body


def test_a_receipt_confirmed_by_the_shopper_alone_tells_them_too(paid, shopper, staff):
    order_services.confirm_receipt(ship(paid, staff), actor=shopper)

    message = only(shopper, Kind.ORDER_DELIVERED)
    assert message.language == "zh-hans" and paid.number in message.title


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("en", "Your refund request for order {} was declined"),
        ("zh-hans", "您的订单 {} 退款申请未通过"),
    ],
)
def test_a_rejected_refund_request_tells_the_shopper_why(
    paid, shopper, staff, language, title, django_capture_on_commit_callbacks
):
    reads(shopper, language)
    request = aftersale.request_refund(
        paid, user=shopper, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason="changed_mind"
    )
    with django_capture_on_commit_callbacks(execute=True):
        aftersale.reject(request, actor=staff, note="Opened & used")
    with pytest.raises(aftersale.AfterSaleError):
        aftersale.reject(request, actor=staff, note="again")

    message = only(shopper, Kind.REFUND_DECIDED)
    assert message.title == title.format(paid.number)
    assert "Opened & used" in message.body
    assert len(mail.outbox) == 1 and "Opened & used" in mail.outbox[0].body


def test_an_approved_refund_request_tells_the_shopper_the_amount(paid, shopper, staff):
    reads(shopper, "en")
    request = aftersale.request_refund(
        paid, user=shopper, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason="changed_mind"
    )
    aftersale.approve(request, actor=staff)

    message = only(shopper, Kind.REFUND_DECIDED)
    assert message.title == f"Your refund for order {paid.number} was approved"
    assert message.body.startswith("¥110.00 goes back the way you paid")  # shipping too


def test_the_merchants_full_refund_tells_the_shopper_and_mails_the_amount(
    paid, shopper, staff, django_capture_on_commit_callbacks
):
    reads(shopper, "en")
    with django_capture_on_commit_callbacks(execute=True):
        refunds.refund_order(paid, actor=staff, reason="out of stock")

    message = only(shopper, Kind.REFUND_DECIDED)
    assert message.title == f"Your refund for order {paid.number} was approved"
    assert "¥110.00" in message.body  # goods and shipping
    assert mail.outbox[-1].subject == message.title
    assert "Your refund of ¥110.00" in mail.outbox[-1].body


# --- commissions and withdrawals -------------------------------------------------------


@pytest.fixture
def sold(chain, shopper, make_variant, address):
    """An order of two lines (¥100.00 of goods) through carol's link, paid: carol earns
    10% on it, bob (her recruiter) 5%."""
    order = order_services.place_order(
        shopper,
        [(make_variant(price="60.00").pk, 1), (make_variant(price="40.00").pk, 1)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    return pay(order)


def test_each_earner_is_told_once_per_order_whatever_the_accrual_runs(chain, sold):
    alice, bob, carol = chain
    reads(carol.user, "en")
    commission_services.accrue_commissions(sold.pk)
    commission_services.accrue_commissions(sold.pk)

    assert only(carol.user, Kind.COMMISSION_ACCRUED).title == "Commission of ¥10.00 accrued"
    assert "¥5.00" in only(bob.user, Kind.COMMISSION_ACCRUED).title
    assert inbox(alice.user, Kind.COMMISSION_ACCRUED) == []  # the plan pays two levels
    carols = carol.user.distributor.commissions.get()
    assert only(carol.user, Kind.COMMISSION_ACCRUED).link == carols.get_absolute_url()


def test_released_commissions_are_told_once(chain, sold, staff):
    carol = chain[2]
    reads(carol.user, "en")
    commission_services.accrue_commissions(sold.pk)
    order_services.complete_order(ship(sold, staff), actor=staff)
    commission_services.release_order_commissions(sold.pk)
    commission_services.release_due_commissions()

    message = only(carol.user, Kind.COMMISSION_RELEASED)
    assert message.title == "Commission of ¥10.00 is available"
    assert sold.number in message.body


@pytest.fixture
def carol(chain, sold, staff):
    """carol with ¥10.00 available from `sold`, and the plan's minimum withdrawal at ¥1."""
    carol = chain[2]
    commission_services.accrue_commissions(sold.pk)
    order_services.complete_order(ship(sold, staff), actor=staff)
    commission_services.release_order_commissions(sold.pk)
    commission_services.active_plan().__class__.objects.filter(is_active=True).update(
        min_withdrawal=Decimal("1.00")
    )
    reads(carol.user, "en")
    return carol


def withdraw(distributor, amount="6.00"):
    return withdrawals.request_withdrawal(
        distributor,
        amount=Decimal(amount),
        method="alipay",
        account_name="陈小红",
        account_number="13800138000",
    )


def test_a_withdrawal_paid_by_hand_is_told_once(carol, staff):
    withdrawal = withdraw(carol)
    withdrawals.approve_withdrawal(withdrawal, reviewer=staff, payout_reference="T1")
    withdrawals.approve_withdrawal(withdrawal, reviewer=staff, payout_reference="T1")

    message = only(carol.user, Kind.WITHDRAWAL_PAID)
    assert message.title == f"Withdrawal #{withdrawal.pk} paid"
    assert message.body == "¥6.00 was sent to your Alipay account."


def test_a_rejected_withdrawal_tells_the_reason_once(carol, staff):
    withdrawal = withdraw(carol)
    withdrawals.reject_withdrawal(withdrawal, reviewer=staff, reason="账户名不符")
    withdrawals.reject_withdrawal(withdrawal, reviewer=staff, reason="账户名不符")

    message = only(carol.user, Kind.WITHDRAWAL_REJECTED)
    assert message.title == f"Withdrawal #{withdrawal.pk} rejected"
    assert "Reason: 账户名不符" in message.body
    assert "¥6.00 is back in your available balance" in message.body


def test_a_transfer_the_gateway_refuses_tells_the_distributor_its_reason(
    carol, staff, fake_alipay, django_capture_on_commit_callbacks
):
    PayoutSettings.objects.update_or_create(pk=1, defaults={"alipay_automatic": True})
    fake_alipay.accounts["13800138000"] = "王大明"  # the account is someone else's
    withdrawal = withdraw(carol)
    with django_capture_on_commit_callbacks(execute=True):
        withdrawals.start_payout(withdrawal, reviewer=staff)
    withdrawals.settle_payouts_in_flight()
    withdrawal.refresh_from_db()

    message = only(carol.user, Kind.WITHDRAWAL_REJECTED)
    assert message.title == f"Withdrawal #{withdrawal.pk} could not be paid"
    assert withdrawal.reject_reason and withdrawal.reject_reason in message.body
    assert inbox(carol.user, Kind.WITHDRAWAL_PAID) == []


# --- distributors ----------------------------------------------------------------------


def apply(user, invite_code=""):
    return applications.apply_to_join(
        user, name="王小明", phone="13800138000", reason="朋友都爱喝酒", invite_code=invite_code
    )


@pytest.fixture
def reviewed():
    NetworkSettings.objects.update_or_create(pk=1, defaults={"auto_approve": False})


@pytest.mark.usefixtures("reviewed")
def test_an_approved_application_is_told_once_with_the_invite_code(make_user, staff, default_plan):
    erin = make_user("erin")
    reads(erin, "en")
    application = applications.approve_application(apply(erin), reviewer=staff)
    with pytest.raises(applications.ApplicationAlreadyReviewed):
        applications.approve_application(application, reviewer=staff)

    message = only(erin, Kind.APPLICATION_DECIDED)
    assert message.title == "Your distributor application was approved"
    assert application.distributor.invite_code in message.body


@pytest.mark.usefixtures("reviewed")
def test_a_rejected_application_tells_the_reason(make_user, staff):
    erin = make_user("erin")
    reads(erin, "en")
    applications.reject_application(apply(erin), reviewer=staff, note="资料不全")

    message = only(erin, Kind.APPLICATION_DECIDED)
    assert message.title == "Your distributor application was not approved"
    assert "Reason: 资料不全" in message.body


@pytest.mark.usefixtures("reviewed")
def test_the_sms_words_of_a_decision_are_the_shops_whatever_the_readers_language(
    make_user, staff, paid, shopper
):
    erin = make_user("erin")
    reads(erin, "en")
    reads(shopper, "en")
    applications.reject_application(apply(erin), reviewer=staff, note="资料不全")
    request = aftersale.request_refund(
        paid, user=shopper, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason="changed_mind"
    )
    aftersale.approve(request, actor=staff)

    # the provider's templates are approved in the shop's language (Chinese)
    assert only(erin, Kind.APPLICATION_DECIDED).data["sms"]["result"] == "未通过"
    assert only(shopper, Kind.REFUND_DECIDED).data["sms"]["result"] == "通过"


@pytest.fixture
def silver_and_gold(db):
    made = {}
    for rank, name, name_en in [(1, "银牌", "Silver"), (2, "金牌", "Gold")]:
        made[rank], _ = Grade.objects.update_or_create(
            rank=rank, defaults={"name": name, "name_en": name_en}
        )
    return made[1], made[2]


@pytest.mark.parametrize(("language", "name"), [("en", "Gold"), ("zh-hans", "金牌")])
def test_a_grade_change_up_or_down_is_told_each_time(
    make_distributor, staff, silver_and_gold, language, name
):
    silver, gold = silver_and_gold
    dora = make_distributor("dora")
    reads(dora.user, language)
    grades.set_grade(dora, gold, actor=staff)
    grades.set_grade(dora, gold, actor=staff)  # no change: nothing to tell
    grades.set_grade(dora, silver, actor=staff)

    up, down = sorted(inbox(dora.user, Kind.GRADE_CHANGED), key=lambda m: m.pk)
    assert name in up.title
    if language == "en":
        assert up.title == "You were promoted to Gold"
        assert down.title == "Your grade is now Silver"
        assert "from Gold to Silver" in down.body


def test_a_new_member_is_told_to_their_recruiter_only(make_distributor):
    alice = make_distributor("alice")
    reads(alice.user, "en")
    bob = make_distributor("bob", parent=alice)
    make_distributor("carol", parent=bob)

    assert only(alice.user, Kind.TEAM_MEMBER_JOINED).title == "bob joined your team"
    # bob never chose a language: the shop's, Chinese
    assert [m.title for m in inbox(bob.user, Kind.TEAM_MEMBER_JOINED)] == ["carol 加入了您的团队"]


# --- email and the person's choices -------------------------------------------------------


def test_an_earning_is_mailed_to_a_distributor_who_wants_it(
    chain, sold, django_capture_on_commit_callbacks
):
    carol = chain[2]
    reads(carol.user, "en")
    with django_capture_on_commit_callbacks(execute=True):
        commission_services.accrue_commissions(sold.pk)

    mails = [email for email in mail.outbox if email.to == [carol.user.email]]
    assert [email.subject for email in mails] == ["Commission of ¥10.00 accrued"]


def test_no_email_for_a_category_the_person_turned_off_but_the_message_stays(
    chain, sold, django_capture_on_commit_callbacks
):
    carol = chain[2]
    reads(carol.user, "en", email_earnings=False)
    with django_capture_on_commit_callbacks(execute=True):
        commission_services.accrue_commissions(sold.pk)

    assert [email for email in mail.outbox if email.to == [carol.user.email]] == []
    assert only(carol.user, Kind.COMMISSION_ACCRUED).deliveries.count() == 0
    assert len(inbox(chain[1].user, Kind.COMMISSION_ACCRUED)) == 1  # bob wants his


def test_no_email_for_a_person_without_an_address(
    shopper, variant, address, django_capture_on_commit_callbacks
):
    shopper.email = ""
    shopper.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        order_services.place_order(shopper, [(variant.pk, 1)], address=address)

    assert mail.outbox == []
    assert len(inbox(shopper, Kind.ORDER_PLACED)) == 1


# --- cost ------------------------------------------------------------------------------


def test_telling_costs_a_fixed_number_of_queries_and_a_repeat_one(
    shopper, settings, django_assert_num_queries
):
    from types import SimpleNamespace

    from config.celery import app as celery_app
    from notifications.services import notify

    settings.SMS_TEMPLATES = {Kind.ORDER_SHIPPED: "SMS_1"}
    shopper.phone = "13800138000"
    # the deliveries' tasks go through the outbox, as in production (sent after commit;
    # the _eager_celery fixture puts eager mode back)
    celery_app.conf.task_always_eager = False
    order = SimpleNamespace(number="N1", carrier_name="顺丰速运", tracking_number="SF1")

    def tell():
        return notify(shopper, Kind.ORDER_SHIPPED, key="order:1:shipped", context={"order": order})

    # the keys already there, the person's settings, the message's insert in a
    # savepoint (3), both deliveries in one insert, and one outbox row for both
    with django_assert_num_queries(7):
        message = tell()
    assert message.deliveries.count() == 2
    with django_assert_num_queries(1):  # the message found (settings read before): no more
        assert tell() is None
