"""Where conversation pictures live: apart from the public media, never under MEDIA_URL.

Product pictures are public and served as files; a shopper's pictures may show
an address or a face, so they are read only through ``support.views.attachment``,
which checks who asks. ``PRIVATE_MEDIA_ROOT`` must not be served by the web server.
"""

from django.core.files.storage import storages


def private_storage():
    return storages["private"]
