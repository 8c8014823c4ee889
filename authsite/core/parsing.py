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


# A round trip the sign-in page measured: above this it is not a network's latency but a stalled
# tab or a made-up value (docs/risk-model.md, "Round-trip time").
MAX_ROUND_TRIP_MS = 10_000.0


def parse_round_trip_ms(raw: object) -> float | None:
    """Return a round-trip time in milliseconds, or None when ``raw`` is absent or absurd.

    A number (or its ASCII text) above 0 and at most ``MAX_ROUND_TRIP_MS``; anything else (empty,
    negative, zero, NaN, infinite, too long to be a number) is unknown, never a pass.
    """
    if isinstance(raw, str):
        text = raw.strip()
        if not text or len(text) > 32 or not text.isascii():
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    else:
        return None
    if not 0.0 < value <= MAX_ROUND_TRIP_MS:  # also refuses NaN
        return None
    return value
