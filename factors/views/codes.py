"""The code challenge shared by the sign-in challenge, the step-up and confirming a new factor.

What a page asks for (the label of the code field), how it has a code sent, and what it says
when a code was not sent or did not work.
"""

from __future__ import annotations

from factors import services
from factors.models import RecoveryCodeDevice, SMSDevice, TOTPDevice

SEND_MESSAGES = {
    services.SendStatus.COOLDOWN: "We just sent a code. You can ask for another in {seconds} seconds.",
    services.SendStatus.CAPPED: "Too many codes were sent recently. Please choose another way.",
    services.SendStatus.NOT_ALLOWED_COUNTRY: "We can't send texts to that country. Please choose another way.",
    services.SendStatus.DELIVERY_FAILED: "We couldn't send a text right now; choose another way.",
    services.SendStatus.NOT_USABLE: "That method can't be used. Please choose another way.",
}


# The same, on a page that offers no other way (confirming a new phone or address, a sign-in
# with one usable method).
SEND_MESSAGES_NO_OTHER_WAY = {
    **SEND_MESSAGES,
    services.SendStatus.CAPPED: "Too many codes were sent recently. Please try again later.",
    services.SendStatus.NOT_ALLOWED_COUNTRY: "We can't send texts to that country.",
    services.SendStatus.DELIVERY_FAILED: "We couldn't send a text right now. Please try again in a few minutes.",
    services.SendStatus.NOT_USABLE: "That method can't be used.",
}


def code_label(device) -> str:
    """Return the label of the code field for a challenge with ``device``."""
    if isinstance(device, TOTPDevice):
        return "6-digit code from your authenticator app"
    if isinstance(device, RecoveryCodeDevice):
        return "Recovery code"
    if isinstance(device, SMSDevice):
        return "6-digit code from the text message"
    return "6-digit code from the email"


def send_message(result: services.SendResult, *, email: bool, other_ways: bool) -> str:
    """Say why no code was sent; ``other_ways`` when the page offers another way to confirm."""
    text = (SEND_MESSAGES if other_ways else SEND_MESSAGES_NO_OTHER_WAY)[result.status]
    if email and result.status is services.SendStatus.DELIVERY_FAILED:
        text = text.replace("a text", "an email")
    return text.format(seconds=result.seconds_left)


def verify_message(result: services.VerifyResult, *, other_ways: bool) -> str:
    """Say what went wrong under the code field; ``other_ways`` when the page offers another way."""
    if result.status is services.VerifyStatus.THROTTLED:
        seconds = result.seconds_left
        wait = f"Too many wrong codes. Please wait {seconds} second{'s' if seconds != 1 else ''}"
        return f"{wait}, or choose another way." if other_ways else f"{wait}."
    if result.status is services.VerifyStatus.REPLAY:
        return "That code was already used. Wait for the next one."
    return "That code didn't work. Check it and try again."
