"""The shopper's forms of customer service: a message (text and pictures) and a rating.

The rules of a message (not empty, at most MAX_BODY characters, pictures checked
by Pillow) live in ``support.services`` and ``support.pictures``; the view puts
their refusals on these fields with ``error.add_to(form)``, so the text a shopper
reads comes from one place.
"""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import MAX_BODY
from .pictures import ACCEPTED_FORMATS
from .services import MAX_PICTURES

# The file picker's filter (support.pictures decides, whatever a file claims to be).
ACCEPT = ",".join(f"image/{name.lower()}" for name in sorted(ACCEPTED_FORMATS))


class MultiplePictureInput(forms.FileInput):
    allow_multiple_selected = True


class MultiplePictureField(forms.FileField):
    """Any number of files under one name (the service decides how many may go); the
    shopper's message and the staff reply (support.admin.forms) both use it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultiplePictureInput(attrs={"accept": ACCEPT}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        clean_one = super().clean
        files = data if isinstance(data, list | tuple) else [data]
        return [clean_one(upload, initial) for upload in files if upload]


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "maxlength": MAX_BODY,
                "placeholder": _("Type your question here"),
            }
        ),
    )
    pictures = MultiplePictureField(label=_("Pictures"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pictures"].help_text = _(
            "Up to %(count)s pictures (JPEG, PNG, WebP or GIF), each at most %(size)s MB."
        ) % {"count": MAX_PICTURES, "size": settings.SUPPORT_MAX_PICTURE_BYTES // (1024 * 1024)}


class RatingForm(forms.Form):
    STARS = [(n, str(n)) for n in range(1, 6)]

    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with our service?"),
        choices=STARS,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose from one to five stars.")},
    )
    comment = forms.CharField(
        label=_("Anything to add?"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
