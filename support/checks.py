"""A system check that the private storage of conversation pictures is never served.

The pictures are read only through ``support.views.attachment``, which checks who
asks. If ``PRIVATE_MEDIA_ROOT`` were put inside a folder the site serves as files
(the media, the static files) or its storage given a URL under theirs, anyone who
guessed a file's name could fetch it: ``manage.py check`` refuses such settings.
"""

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.files.storage import storages


def served_folders() -> dict[str, Path]:
    """The folders the site serves as files, by the setting that names them."""
    folders = {"MEDIA_ROOT": settings.MEDIA_ROOT, "STATIC_ROOT": settings.STATIC_ROOT}
    for number, folder in enumerate(settings.STATICFILES_DIRS):
        folders[f"STATICFILES_DIRS[{number}]"] = folder[1] if isinstance(folder, tuple) else folder
    return {name: Path(folder).resolve() for name, folder in folders.items() if folder}


@register(Tags.security)
def check_private_storage_is_not_served(app_configs, **kwargs):
    storage = storages["private"]
    errors = []
    location = getattr(storage, "location", None)
    if location:
        private = Path(location).resolve()
        for name, served in served_folders().items():
            if private == served or private.is_relative_to(served):
                errors.append(
                    Error(
                        f"The private storage ({private}) is inside {name} ({served}), "
                        "which the site serves to anyone.",
                        hint="Set PRIVATE_MEDIA_ROOT to a folder the web server does not serve.",
                        id="support.E001",
                    )
                )
    base_url = (getattr(storage, "base_url", None) or "").strip("/")
    for name in ("MEDIA_URL", "STATIC_URL"):
        served_url = (getattr(settings, name) or "").strip("/")
        if base_url and served_url and f"{base_url}/".startswith(f"{served_url}/"):
            errors.append(
                Error(
                    f"The private storage's URL /{base_url}/ is under {name} (/{served_url}/).",
                    hint="Give the private storage a base_url nothing serves, e.g. /unserved/.",
                    id="support.E002",
                )
            )
    return errors
