"""The rules of a conversation, called as the views and the admin call them."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from orders.services import place_order
from support import pictures, services
from support.models import Attachment, Conversation, Message
from tests.support.conftest import picture_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_user):
    return make_user("agent", is_staff=True, first_name="小美", last_name="王")


def jpeg_with_gps(size=(640, 480)) -> SimpleUploadedFile:
    """A phone photo: taken sideways, with a GPS position in its EXIF, incompressible."""
    return SimpleUploadedFile(
        "IMG_0001.jpg", picture_bytes("JPEG", size, gps=True, noise=True), content_type="image/jpeg"
    )


def test_a_customer_message_waits_for_staff_and_a_reply_ends_the_wait(shopper, agent, always_open):
    conversation = services.start_conversation(shopper, body="请问什么时候发货？")
    first_wait = conversation.waiting_since
    services.post_message(conversation, shopper, body="在吗？", as_staff=False)
    conversation.refresh_from_db()
    assert (conversation.staff_unread, conversation.waiting_since) == (2, first_wait)

    services.post_message(conversation, agent, body="您好，今天下午发出。", as_staff=True)

    conversation.refresh_from_db()
    assert conversation.waiting_since is None
    assert conversation.customer_unread == 1
    assert conversation.first_reply_at is not None
    assert conversation.assignee == agent  # the first to answer takes it


def test_reading_clears_only_the_readers_side(shopper, agent, always_open):
    conversation = services.start_conversation(shopper, body="你好")
    services.post_message(conversation, agent, body="您好", as_staff=True)

    services.mark_read(conversation, by_staff=False)

    conversation.refresh_from_db()
    assert (conversation.customer_unread, conversation.staff_unread) == (0, 1)
    assert conversation.customer_seen_at is not None


def test_asking_about_the_same_order_again_continues_the_open_conversation(
    shopper, variant, address, always_open
):
    order = place_order(shopper, [(variant.pk, 1)], address=address)
    first = services.start_conversation(shopper, body="这单能开发票吗？", order=order)
    second = services.start_conversation(shopper, body="抬头是公司", order=order)

    assert first == second
    assert first.topic == Conversation.Topic.ORDER
    assert first.messages.count() == 2


def test_an_order_of_someone_else_is_refused_and_nothing_is_stored(
    shopper, make_user, variant, address
):
    order = place_order(make_user("other"), [(variant.pk, 1)], address=address)

    with pytest.raises(services.NotYours):
        services.start_conversation(shopper, body="看看别人的订单", order=order)

    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [("", services.EmptyMessage), ("   \n ", services.EmptyMessage)]
    + [("字" * 2001, services.MessageTooLong)],
)
def test_empty_or_huge_messages_are_refused(shopper, body, error):
    with pytest.raises(error):
        services.start_conversation(shopper, body=body)
    assert not Message.objects.exists()


def test_outside_opening_hours_the_automatic_answer_comes_once_per_wait(shopper, agent, never_open):
    conversation = services.start_conversation(shopper, body="晚上好")
    services.post_message(conversation, shopper, body="还有人吗", as_staff=False)
    automatic = conversation.messages.filter(sender=Message.Sender.SYSTEM)
    assert automatic.count() == 1
    assert "服务时间" in automatic.get().body

    # a staff answer ends the wait; the next question outside hours is answered again
    services.post_message(conversation, agent, body="您好", as_staff=True)
    services.post_message(conversation, shopper, body="再问一下", as_staff=False)
    assert automatic.count() == 2


def test_inside_opening_hours_nobody_gets_an_automatic_answer(shopper, always_open):
    conversation = services.start_conversation(shopper, body="你好")
    assert not conversation.messages.filter(sender=Message.Sender.SYSTEM).exists()


def test_a_closed_conversation_is_rated_once(shopper, agent, always_open):
    conversation = services.start_conversation(shopper, body="你好")
    with pytest.raises(services.NotRatable):
        services.rate(conversation, rating=5)  # still open

    services.close(conversation)
    with pytest.raises(services.NotRatable):
        services.rate(conversation, rating=6)
    services.rate(conversation, rating=4, comment="回复很快")
    with pytest.raises(services.NotRatable):
        services.rate(conversation, rating=1)

    conversation.refresh_from_db()
    assert (conversation.rating, conversation.rating_comment) == (4, "回复很快")


def test_the_customer_writing_again_reopens_it_but_staff_must_reopen_first(
    shopper, agent, always_open
):
    conversation = services.start_conversation(shopper, body="你好")
    services.close(conversation)
    with pytest.raises(services.ConversationClosed):
        services.post_message(conversation, agent, body="还有问题吗", as_staff=True)

    services.post_message(conversation, shopper, body="还有一个问题", as_staff=False)

    conversation.refresh_from_db()
    assert conversation.is_open and conversation.closed_at is None


def test_a_picture_is_stored_upright_without_its_exif(shopper, always_open):
    conversation = services.start_conversation(shopper, body="", files=[jpeg_with_gps()])

    attachment = Attachment.objects.get(message__conversation=conversation)
    with attachment.image.open("rb") as stored:
        image = Image.open(stored)
        assert image.format == "WEBP"
        assert not image.getexif()
    assert (attachment.width, attachment.height) == (480, 640)  # turned upright
    assert "IMG_0001" not in attachment.image.name


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("fake.jpg", b"<script>alert(1)</script>", content_type="image/jpeg"),
        SimpleUploadedFile("page.svg", b"<svg onload='alert(1)'/>", content_type="image/svg+xml"),
    ],
)
def test_a_file_that_is_not_a_picture_stores_nothing(shopper, upload):
    with pytest.raises(pictures.PictureRefused) as refused:
        services.start_conversation(shopper, body="看图", files=[upload])

    assert refused.value.field == "pictures"
    assert not Conversation.objects.exists()


def test_too_large_or_too_many_pictures_store_nothing(shopper, settings):
    settings.SUPPORT_MAX_PICTURE_BYTES = 1024
    with pytest.raises(pictures.PictureRefused, match="MB"):
        services.start_conversation(shopper, body="大图", files=[jpeg_with_gps((900, 900))])

    settings.SUPPORT_MAX_PICTURE_BYTES = 5 * 1024 * 1024
    with pytest.raises(pictures.PictureRefused):
        services.start_conversation(
            shopper, body="多图", files=[jpeg_with_gps() for _ in range(services.MAX_PICTURES + 1)]
        )
    assert not Conversation.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_messages_posted_at_once_are_all_counted(shopper, always_open):
    conversation = services.start_conversation(shopper, body="第一条")
    barrier = threading.Barrier(8)

    def post(number):
        try:
            barrier.wait(timeout=10)
            services.post_message(conversation, shopper, body=f"第 {number} 条", as_staff=False)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    conversation.refresh_from_db()
    assert conversation.staff_unread == 9 == conversation.messages.count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_starts_at_once_make_one_conversation(shopper, always_open):
    # a double click on "send" of the new-conversation page
    barrier = threading.Barrier(4)

    def start(number):
        try:
            barrier.wait(timeout=10)
            services.start_conversation(shopper, body=f"请问 {number}")
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    conversation = Conversation.objects.get(customer=shopper)
    assert conversation.messages.count() == 4 == conversation.staff_unread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_start_and_a_post_into_the_same_conversation_at_once_do_not_deadlock(
    shopper, always_open
):
    conversation = services.start_conversation(shopper, body="第一条")
    barrier = threading.Barrier(6)
    failures = []

    def write(number):
        try:
            barrier.wait(timeout=10)
            if number % 2:
                services.start_conversation(shopper, body=f"再问 {number}")
            else:
                services.post_message(conversation, shopper, body=f"补充 {number}", as_staff=False)
        except Exception as error:  # a deadlock would surface here
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert Conversation.objects.filter(customer=shopper).count() == 1
    assert Message.objects.filter(conversation=conversation).count() == 7
