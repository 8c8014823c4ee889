"""This app's part in a finished sign-in: the "new sign-in" email (listed in LOGIN_LISTENERS)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from authsite.center.activity import notify_new_sign_in, sign_in_is_new
from authsite.login.listeners import LoginListener
from authsite.login.state import PendingLogin
from risk.device import device_id_from_request
from risk.models import LoginEvent


class NewSignInListener(LoginListener):
    """Email the user after a completed sign-in from a new device or place.

    Not when the risk stage has emailed them about this sign-in already (one email per sign-in),
    nor when no stage recorded the attempt.
    """

    def login_succeeded(self, request: HttpRequest, response: HttpResponse, *, user, pending: PendingLogin) -> None:
        facts = pending.facts
        if facts.event_id is None or facts.user_notified:
            return
        event = LoginEvent.objects.filter(pk=facts.event_id).first()
        # The request's cookies, not the response's: did the browser come without the device cookie?
        cookie_was_missing = device_id_from_request(request) is None
        if event is not None and sign_in_is_new(event, cookie_was_missing=cookie_was_missing):
            notify_new_sign_in(request, event, user=user)
