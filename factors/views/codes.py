"""The code challenge shared by the sign-in challenge, the step-up and confirming a new factor.

What a page asks for (the label of the code field), how it has a code sent, and what it says
when a code was not sent or did not work.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from factors import services
from factors.models import RecoveryCodeDevice, SMSDevice, TOTPDevice

SEND_MESSAGES = {
    services.SendStatus.CAPPED: _("Too many codes were sent recently. Please choose another way."),
    services.SendStatus.NOT_ALLOWED_COUNTRY: _("We can't send texts to that country. Please choose another way."),
    services.SendStatus.DELIVERY_FAILED: _("We couldn't send a text right now; choose another way."),
    services.SendStatus.NOT_USABLE: _("That method can't be used. Please choose another way."),
}


# The same, on a page that offers no other way (confirming a new phone or address, a sign-in
# with one usable method).
SEND_MESSAGES_NO_OTHER_WAY = {
    **SEND_MESSAGES,
    services.SendStatus.CAPPED: _("Too many codes were sent recently. Please try again later."),
    services.SendStatus.NOT_ALLOWED_COUNTRY: _("We can't send texts to that country."),
    services.SendStatus.DELIVERY_FAILED: _("We couldn't send a text right now. Please try again in a few minutes."),
    services.SendStatus.NOT_USABLE: _("That method can't be used."),
}
# An email that could not be sent, in the same two situations.
EMAIL_FAILED = _("We couldn't send an email right now; choose another way.")
EMAIL_FAILED_NO_OTHER_WAY = _("We couldn't send an email right now. Please try again in a few minutes.")


def code_label(device) -> str:
    """Return the label of the code field for a challenge with ``device``."""
    if isinstance(device, TOTPDevice):
        return _("6-digit code from your authenticator app")
    if isinstance(device, RecoveryCodeDevice):
        return _("Recovery code")
    if isinstance(device, SMSDevice):
        return _("6-digit code from the text message")
    return _("6-digit code from the email")


def send_message(result: services.SendResult, *, email: bool, other_ways: bool) -> str:
    """Say why no code was sent; ``other_ways`` when the page offers another way to confirm."""
    if result.status is services.SendStatus.COOLDOWN:
        seconds = result.seconds_left
        return ngettext(
            "We just sent a code. You can ask for another in %(seconds)d second.",
            "We just sent a code. You can ask for another in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    if email and result.status is services.SendStatus.DELIVERY_FAILED:
        return str(EMAIL_FAILED if other_ways else EMAIL_FAILED_NO_OTHER_WAY)
    return str((SEND_MESSAGES if other_ways else SEND_MESSAGES_NO_OTHER_WAY)[result.status])


def verify_message(result: services.VerifyResult, *, other_ways: bool) -> str:
    """Say what went wrong under the code field; ``other_ways`` when the page offers another way."""
    if result.status is services.VerifyStatus.THROTTLED:
        seconds = result.seconds_left
        if other_ways:
            text = ngettext(
                "Too many wrong codes. Please wait %(seconds)d second, or choose another way.",
                "Too many wrong codes. Please wait %(seconds)d seconds, or choose another way.",
                seconds,
            )
        else:
            text = ngettext(
                "Too many wrong codes. Please wait %(seconds)d second.",
                "Too many wrong codes. Please wait %(seconds)d seconds.",
                seconds,
            )
        return text % {"seconds": seconds}
    if result.status is services.VerifyStatus.REPLAY:
        return _("That code was already used. Wait for the next one.")
    return _("That code didn't work. Check it and try again.")
