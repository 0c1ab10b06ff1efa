"""The invite QR code, drawn on the server with segno (no third-party service sees the link)."""

import io

import segno

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def invite_qr(url: str, kind: str) -> bytes:
    """The QR code of `url` as PNG or SVG bytes; error correction M survives a
    printed poster's scuffs. `kind` must be one of FORMATS."""
    if kind not in FORMATS:
        raise ValueError(f"unknown QR format: {kind!r}")
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind=kind, scale=10, border=4)
    return buffer.getvalue()
