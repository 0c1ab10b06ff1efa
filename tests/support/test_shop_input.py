"""Bad input on the shopper's forms: a clear message on the field it concerns, the text
typed kept, and nothing stored (no conversation, no message, no file)."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from support.models import Attachment, Conversation, Message

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def signed_in(client, customer, always_open):
    client.force_login(customer)
    return client


def field_errors(body: str, field: str) -> list[str]:
    """The error messages shown under a field (the ids its widget describes itself with)."""
    box = re.search(rf'id="id_{field}_error"[^>]*>(.*?)</div>', body, re.S)
    return re.findall(r"<p>(.*?)</p>", box[1], re.S) if box else []


def stored_files(storage) -> list[Path]:
    root = Path(storage.location)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def bad_inputs(make_picture):
    """(what, form data, field, message) of each refusal."""
    jpeg = make_picture().read()
    return [
        ("empty", lambda: {"body": "   "}, "body", "Write a message or attach a picture."),
        (
            "too long",
            lambda: {"body": "字" * 2001},
            "body",
            "A message can be at most 2000 characters; split it in two.",
        ),
        (
            "text renamed .jpg",
            lambda: {
                "body": "看附件",
                "pictures": make_picture("invoice.jpg", content=b"just some text\n" * 50),
            },
            "pictures",
            "invoice.jpg is not a picture (JPEG, PNG, WebP or GIF).",
        ),
        (
            "6 MB picture",
            # a real JPEG, padded past the limit (readers ignore bytes after its end)
            lambda: {
                "body": "看附件",
                "pictures": make_picture("big.jpg", content=jpeg + b"\0" * (6 * MB)),
            },
            "pictures",
            "big.jpg is larger than 5 MB.",
        ),
        (
            "5 pictures",
            lambda: {"body": "看附件", "pictures": [make_picture(f"p{n}.jpg") for n in range(5)]},
            "pictures",
            "Attach at most 4 pictures to one message.",
        ),
    ]


def test_a_refused_first_message_shows_why_keeps_the_text_and_stores_nothing(
    signed_in, bad_inputs, private_storage
):
    for what, data, field, message in bad_inputs:
        form = data()
        response = signed_in.post(reverse("support:start"), form)

        assert response.status_code == 200, what
        body = response.content.decode()
        assert field_errors(body, field) == [message], what
        if form["body"].strip() and len(form["body"]) <= 2000:
            assert form["body"] in body, what  # the text typed is still there
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()
    assert stored_files(private_storage) == []


def test_a_refused_reply_shows_why_and_stores_nothing(
    signed_in, conversation, bad_inputs, private_storage
):
    url = reverse("support:post", args=[conversation.pk])
    for what, data, field, message in bad_inputs:
        response = signed_in.post(url, data())

        assert response.status_code == 200, what
        assert field_errors(response.content.decode(), field) == [message], what
    assert conversation.messages.count() == 1
    assert not Attachment.objects.exists()
    assert stored_files(private_storage) == []


def test_the_page_script_gets_the_same_refusals_by_field(signed_in, conversation, bad_inputs):
    url = reverse("support:post", args=[conversation.pk])
    for what, data, field, message in bad_inputs:
        response = signed_in.post(url, data(), headers={"Accept": "application/json"})

        assert response.status_code == 400, what
        assert response.json() == {"ok": False, "errors": {field: [message]}}, what
    assert conversation.messages.count() == 1


def test_good_pictures_alone_make_a_message(signed_in, conversation, make_picture):
    url = reverse("support:post", args=[conversation.pk])
    pictures = [make_picture("a.jpg"), make_picture("b.png", fmt="PNG")]

    response = signed_in.post(url, {"body": "", "pictures": pictures})

    assert response.status_code == 302
    message = conversation.messages.last()
    assert message.body == ""
    assert message.attachments.count() == 2


def test_a_rating_out_of_range_is_refused_on_its_field(signed_in, conversation):
    from support import services

    services.close(conversation)
    response = signed_in.post(reverse("support:rate", args=[conversation.pk]), {"rating": 9})

    assert response.status_code == 200
    assert field_errors(response.content.decode(), "rating")
    conversation.refresh_from_db()
    assert conversation.rating is None
