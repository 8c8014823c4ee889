"""Adding a factor: what the sign-in's enrollment pages and the Security page share.

An unconfirmed device is named by its persistent id in the session or the pending login; a new
active factor ends the user's other sessions and is emailed to them.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from authsite.accounts.sessions import user_sessions_end
from authsite.core import events
from authsite.core.parsing import parse_id
from authsite.core.text import StrOrPromise
from factors import services, webauthn
from factors.forms import CodeForm
from factors.models import TOTPDevice, WebAuthnCredential
from factors.notify import notify_factor_change
from factors.views.common import json_body, json_error

logger = logging.getLogger(__name__)

TOTP_CODE_LABEL = gettext_lazy("6-digit code from the app")
TOTP_RESTART = gettext_lazy("Too many wrong codes. Start again: set up the app with a new QR code.")
TOTP_ADDED = gettext_lazy("An authenticator app was added to your account.")


def unconfirmed_device_of(user, device_id: object, models: tuple):
    """Return ``user``'s unconfirmed device named ``device_id`` if it is one of ``models``."""
    label, _, raw_pk = str(device_id or "").rpartition("/")
    pk = parse_id(raw_pk)
    for model in models:
        if label == model.model_label() and pk is not None:
            return model.objects.filter(user=user, pk=pk, confirmed=False).first()
    return None


def end_other_sessions(request: HttpRequest, user=None) -> None:
    """A factor was added or removed: end the user's other sessions (OWASP ASVS 7.4.3).

    Whoever holds a session from before the change must sign in again under the new factor set.
    ``user`` defaults to the signed-in one; a pending login passes its user.
    """
    user = user if user is not None else request.user
    ended = user_sessions_end(user=user, keep_session_key=request.session.session_key)
    if ended:
        events.auth_event(request, "session_ended", outcome="success", user_id=user.pk, scope="others", count=ended)


def factor_added(request: HttpRequest, user, device, what: StrOrPromise) -> None:
    """Log a new active factor, end ``user``'s other sessions and tell them by email."""
    events.auth_event(request, events.MFA_ENROLLED, outcome="success", user_id=user.pk, factor=device.factor_kind)
    end_other_sessions(request, user)
    notify_factor_change(request, user=user, subject=gettext_lazy("a sign-in method was added"), what=what)


def totp_setup_page(request: HttpRequest, device: TOTPDevice, form: CodeForm, *, cancel_url: str) -> HttpResponse:
    """Render the QR code, the setup key and the confirmation form of an unconfirmed TOTP device."""
    from factors import otp
    from factors.qr import qr_svg

    uri = device.provisioning_uri()
    secret = otp.b32(device.bin_key)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render(
        request,
        "factors/totp_confirm.html",
        {"form": form, "qr_svg": qr_svg(uri), "secret": grouped, "secret_raw": secret, "cancel_url": cancel_url},
    )


def webauthn_register(request: HttpRequest, user, state: dict | None) -> WebAuthnCredential | JsonResponse:
    """Finish a registration from the request's JSON body; return the credential or an error reply."""
    body = json_body(request)
    if body is None or not isinstance(body.get("credential"), dict):
        return json_error(_("The browser sent an unreadable answer. Please try again."))
    default_name = "Passkey" if (state or {}).get("passkey") else "Security key"
    name = str(body.get("name") or default_name).strip()[:64] or default_name
    try:
        return services.factor_enroll_webauthn_complete(user=user, state=state, response=body["credential"], name=name)
    except webauthn.WebAuthnError as exc:
        logger.info("webauthn registration rejected: %s", exc.reason)
        return json_error(_("That security key or passkey couldn't be added. Please try again."))


def webauthn_added(credential: WebAuthnCredential) -> StrOrPromise:
    """Say in the notification email what was added (rendered in the owner's language)."""
    if credential.discoverable:
        text = gettext_lazy("A passkey (“%(name)s”) was added to your account.")
    else:
        text = gettext_lazy("A security key (“%(name)s”) was added to your account.")
    return text % {"name": credential.name}
