"""A shopper reads only their own conversations and pictures, by any URL; pictures live
outside the public media, without their EXIF; text is shown as text."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse
from PIL import Image

from support import services
from support.models import Attachment, Conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_picture(conversation, customer, make_picture):
    """The conversation with a picture the customer sent (taken with GPS on)."""
    message = services.post_message(
        conversation, customer, body="看图", files=[make_picture(gps=True)], as_staff=False
    )
    return conversation, message.attachments.get()


def urls_of(conversation, picture):
    pk = conversation.pk
    return [
        ("get", reverse("support:conversation", args=[pk]), {}),
        ("get", reverse("support:poll", args=[pk]), {"after": 0}),
        ("post", reverse("support:post", args=[pk]), {"body": "我来偷看"}),
        ("post", reverse("support:close", args=[pk]), {}),
        ("post", reverse("support:rate", args=[pk]), {"rating": 1}),
        ("get", reverse("support:attachment", args=[picture.pk]), {}),
    ]


def test_another_shopper_gets_404_on_every_url_and_changes_nothing(
    client, other_customer, with_picture
):
    conversation, picture = with_picture
    client.force_login(other_customer)

    for method, url, data in urls_of(conversation, picture):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, url

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.rating is None
    assert not conversation.messages.filter(body="我来偷看").exists()
    assert conversation.customer_seen_at is None  # their visit read nothing


def test_a_visitor_not_signed_in_is_sent_to_sign_in_from_every_url(client, with_picture):
    conversation, picture = with_picture
    urls = [("get", reverse("support:list"), {}), ("get", reverse("support:start"), {})]
    before = conversation.messages.count()
    for method, url, data in urls + urls_of(conversation, picture):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts:login")), url
    assert conversation.messages.count() == before


def test_asking_about_someone_elses_order_or_request_is_not_found(
    client, other_customer, customer_order, customer_after_sale
):
    client.force_login(other_customer)
    start = reverse("support:start")
    for query in (
        f"?order={customer_order.number}",
        "?order=NO-SUCH-ORDER",
        f"?after_sale={customer_after_sale.pk}",
        "?after_sale=999999",
        "?after_sale=abc",
    ):
        assert client.get(start + query).status_code == 404, query
        assert client.post(start + query, {"body": "hi"}).status_code == 404, query
    assert not Conversation.objects.exists()


def test_the_shopper_gets_their_picture_privately_and_never_sniffed(client, customer, with_picture):
    _conversation, picture = with_picture
    client.force_login(customer)

    response = client.get(reverse("support:attachment", args=[picture.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Cache-Control"].startswith("private")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:4] == b"RIFF"


def test_staff_who_may_read_conversations_see_pictures_other_staff_do_not(
    client, make_user, support_staff, with_picture
):
    _conversation, picture = with_picture
    url = reverse("support:attachment", args=[picture.pk])
    reader = make_user("reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    answerer = make_user("answerer", is_staff=True)  # change without view: the admin reads too
    answerer.user_permissions.add(Permission.objects.get(codename="change_conversation"))
    clerk = make_user("clerk", is_staff=True)  # staff, but not customer service
    former = make_user("former", is_staff=False)  # the permission left on someone not staff
    former.user_permissions.add(Permission.objects.get(codename="view_conversation"))

    for member, status in (
        (support_staff, 200),
        (reader, 200),
        (answerer, 200),
        (clerk, 404),
        (former, 404),
    ):
        client.force_login(member)
        assert client.get(url).status_code == status, member


def test_a_picture_is_stored_privately_without_exif_and_not_under_the_media_url(
    client, customer, private_storage, with_picture
):
    _conversation, picture = with_picture
    stored = Path(private_storage.path(picture.image.name))

    assert stored.is_file()
    assert not stored.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert not picture.image.url.startswith(settings.MEDIA_URL)
    assert "photo" not in picture.image.name  # not the shopper's file name
    with Image.open(stored) as image:
        assert image.format == "WEBP"
        assert not image.getexif()  # no GPS position, no camera
        assert image.size == (48, 64)  # turned upright by its orientation, then dropped
    client.force_login(customer)
    assert client.get(f"/{settings.MEDIA_URL}{picture.image.name}").status_code == 404


def test_a_page_shows_a_picture_as_a_thumbnail_linking_to_the_full_picture(
    client, customer, with_picture
):
    conversation, picture = with_picture
    client.force_login(customer)
    body = client.get(conversation.get_absolute_url()).content.decode()
    url = reverse("support:attachment", args=[picture.pk])
    assert f'<a href="{url}" target="_blank" rel="noopener">' in body
    assert f'<img src="{url}" width="48" height="64"' in body


def test_script_in_a_message_is_stored_as_written_and_shown_as_text(client, customer, conversation):
    text = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.force_login(customer)
    client.post(reverse("support:post", args=[conversation.pk]), {"body": text})

    assert conversation.messages.last().body == text
    for url in (
        conversation.get_absolute_url(),
        reverse("support:list"),
    ):
        body = client.get(url).content.decode()
        assert "<script>alert" not in body and "<img src=x" not in body, url
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body, url
    fragment = client.get(reverse("support:poll", args=[conversation.pk]), {"after": 0}).json()[
        "messages"
    ][-1]["html"]
    assert "&lt;script&gt;" in fragment and "<script>" not in fragment


def test_missing_picture_file_is_not_found(client, customer, with_picture, private_storage):
    _conversation, picture = with_picture
    private_storage.delete(picture.image.name)
    client.force_login(customer)
    assert client.get(reverse("support:attachment", args=[picture.pk])).status_code == 404
    assert Attachment.objects.filter(pk=picture.pk).exists()
