"""QR codes as inline SVG, rendered locally by segno (no external request, CSP-friendly)."""

from __future__ import annotations

import segno


def qr_svg(data: str, *, scale: int = 4) -> str:
    """Return ``<svg>`` markup of a QR code for ``data`` (e.g. an otpauth:// URI).

    The markup contains the secret (it encodes the URI): render it only on the enrollment page,
    never cache or log it.
    """
    return segno.make(data, error="m", micro=False).svg_inline(scale=scale, omitsize=False)
