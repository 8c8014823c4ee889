"""Reading ids that arrive as text from forms, URLs and the session."""

from __future__ import annotations


def parse_id(raw: object, *, max_digits: int = 18) -> int | None:
    """Return ``raw`` as a non-negative integer, or None when it is not one.

    Only ASCII digits count: ``"²".isdigit()`` is True but ``int("²")`` fails, and ``int()``
    accepts other scripts' digits such as ``"\\uff19"``. At most ``max_digits`` of them, so the
    value fits a bigint column and ``int()`` never reaches its limit on digits.
    """
    text = raw if isinstance(raw, str) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= max_digits):
        return None
    return int(text)
