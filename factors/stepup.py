"""Step-up re-authentication with a factor before changing how the account signs in.

NIST SP 800-63B §4.1.2.1: adding or changing an authenticator needs authentication at the
account's highest strength. A recent password check (``authsite.accounts.reauth``) is not enough for a user
who has a second factor: they must also pass one of their strongest factors within
``REAUTH_WINDOW_SECONDS``. A sign-in that passed one of those counts, so the common case asks
nothing; one that passed a weaker factor (an email or SMS code while the user has an app or a
passkey) does not, or the weakest factor would be enough to remove the strongest.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from authsite.accounts.reauth import reauth_mark
from authsite.accounts.views import safe_next_url
from authsite.core import clock, events
from authsite.core.clientip import client_ip
from factors import services, webauthn
from factors.forms import CodeForm
from factors.models import EmailDevice, RecoveryCodeDevice, SMSDevice
from factors.registry import FACTOR_TYPES, Strength, factor_type, offer_key, strength
from factors.views.codes import code_label, send_message, verify_message
from factors.views.common import json_body, json_error

# {"at": when, "level": Strength of what was passed}; see factor_reauth_proof.
SESSION_FACTOR = "_reauth_factor"
SESSION_BIND = "factors_stepup_bind"
SESSION_WEBAUTHN = "factors_stepup_webauthn"


def reauth_level(device) -> Strength:
    """How much passing ``device`` proves for a sensitive change.

    Its strength, except that a recovery code counts as the strongest: it stands in for a lost
    authenticator (account recovery, NIST SP 800-63B §6.1.2.3), whose owner must be able to
    replace it, and every use is emailed to the account.
    """
    return Strength.PHISHING_RESISTANT if isinstance(device, RecoveryCodeDevice) else strength(device)


def factor_reauth_proof(level: Strength) -> dict:
    """The session value recording that a factor of ``level`` was passed just now."""
    return {"at": clock.timestamp(), "level": int(level)}


def factor_reauth_mark(session, level: Strength) -> None:
    """Record in ``session`` that its user just passed a factor of ``level``."""
    session[SESSION_FACTOR] = factor_reauth_proof(level)


# What the admin asks of a staff session (``MFA_REQUIRED_FOR_STAFF``): an authenticator app, a
# passkey or a security key. Not a text message (a restricted authenticator, NIST SP 800-63B
# §5.1.3.3) and not an email code: email does not prove possession of a device (§5.1.3.1), and the
# mailbox is often the way a password is reset.
STAFF_STRENGTH = Strength.APP


def _usable_factors(user) -> list:
    """The user's factors that count for a step-up (never recovery codes or an unverified phone)."""
    return [d for d in services.user_factors(user) if not isinstance(d, RecoveryCodeDevice) and d.can_answer]


def strongest_factors(user) -> list:
    """The user's usable factors of their highest strength (recovery codes never count)."""
    devices = _usable_factors(user)
    if not devices:
        return []
    best = max(strength(d) for d in devices)
    return [d for d in devices if strength(d) == best]


def staff_factors(user) -> list:
    """The user's factors that open the admin to a staff member (``STAFF_STRENGTH`` or stronger)."""
    return [d for d in _usable_factors(user) if strength(d) >= STAFF_STRENGTH]


def staff_session_verified(request: HttpRequest) -> bool:
    """Tell whether this session passed a factor of ``STAFF_STRENGTH`` (what the admin requires)."""
    device = getattr(request.user, "otp_device", None)
    kind = getattr(device, "factor_kind", "")
    return (
        device is not None
        and device.confirmed
        and kind in FACTOR_TYPES
        and kind != RecoveryCodeDevice.factor_kind
        and strength(kind) >= STAFF_STRENGTH
    )


def step_up_url(request: HttpRequest) -> str | None:
    """Where to send a user who must pass a factor before a sensitive change, or None if not needed.

    Called by ``authsite.accounts.reauth.recent_auth_required`` (setting ``REAUTH_STEP_UP``).
    """
    strongest = strongest_factors(request.user)
    if not strongest:
        return None
    proof = request.session.get(SESSION_FACTOR)
    if (
        isinstance(proof, dict)
        and proof.get("level", 0) >= strength(strongest[0])
        and clock.timestamp() - proof.get("at", 0) <= settings.REAUTH_WINDOW_SECONDS
    ):
        return None
    return reverse("factors:stepup")


def _bind(request: HttpRequest) -> str:
    bind = request.session.get(SESSION_BIND)
    if not bind:
        bind = request.session[SESSION_BIND] = f"stepup:{secrets.token_urlsafe(16)}"
    return bind


def _passed(request: HttpRequest, device, next_url: str) -> str:
    level = reauth_level(device)
    proof = request.session.get(SESSION_FACTOR)
    fresh = isinstance(proof, dict) and clock.timestamp() - proof.get("at", 0) <= settings.REAUTH_WINDOW_SECONDS
    if not (fresh and proof.get("level", 0) > level):  # keep a stronger proof of the same window
        factor_reauth_mark(request.session, level)
    current = getattr(request.user, "otp_device", None)
    if current is None or getattr(current, "factor_kind", "") not in FACTOR_TYPES or strength(current) <= level:
        # The session is now verified with this factor: it opens the admin if it is strong enough.
        # What the session may do rises, so its key changes, as at sign-in (OWASP ASVS 7.2.4).
        request.session.cycle_key()
        otp_login(request, device)
    reauth_mark(request)
    request.session.pop(SESSION_BIND, None)
    events.auth_event(request, events.REAUTH, outcome="success", factor=device.factor_kind)
    return next_url or reverse("factors:security")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def stepup_view(request: HttpRequest) -> HttpResponse:
    """Pass one of the account's strongest factors before changing how it signs in."""
    return _stepup(
        request,
        strongest_factors(request.user),
        reason="Changing how you sign in needs one of your strongest sign-in methods.",
        cancel_url=reverse("factors:security"),
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def stepup_admin_view(request: HttpRequest) -> HttpResponse:
    """Pass an app, passkey or security key in this session before using the admin.

    ``authsite.center.admin_site`` sends staff here when their session did not pass such a factor (a
    sign-in the risk engine let through on the password, or one confirmed with an email code).
    """
    return _stepup(
        request,
        staff_factors(request.user),
        reason="The admin needs a passkey, a security key or an authenticator app.",
        cancel_url=reverse("home"),
    )


def _stepup(request: HttpRequest, options: list, *, reason: str, cancel_url: str) -> HttpResponse:
    """Ask for one of ``options`` (the page names ``reason``), then go on to the safe ``next``."""
    user = request.user
    next_url = safe_next_url(request)
    if not options:
        return redirect(next_url or "factors:security")
    options = sorted(options, key=offer_key)
    by_id = {d.persistent_id: d for d in options}
    chosen = request.POST.get("device") or request.GET.get("method") or ""
    device = by_id.get(chosen, options[0])
    form = CodeForm(label=code_label(device))
    here = f"{request.path}?{urlencode({'next': next_url, 'method': device.persistent_id})}"
    others = [(d, factor_type(d)) for d in options if d.persistent_id != device.persistent_id]
    if request.method == "POST":
        if chosen not in by_id:
            messages.error(request, _("Use one of the sign-in methods offered here to confirm."))
            return redirect(here)
        if request.POST.get("action") == "send" and isinstance(device, EmailDevice | SMSDevice):
            result = services.factor_send_code(
                user=user, device_id=device.persistent_id, bind=_bind(request), client_ip=client_ip(request)
            )
            if result.sent:
                messages.success(request, _("We sent a code to %(destination)s.") % {"destination": result.destination})
            else:
                messages.error(
                    request, send_message(result, email=isinstance(device, EmailDevice), other_ways=bool(others))
                )
            return redirect(here)
        form = CodeForm(request.POST, label=code_label(device))
        if form.is_valid():
            result = services.factor_verify(
                device_id=device.persistent_id, user=user, response=form.cleaned_data["code"], bind=_bind(request)
            )
            if result.ok:
                return redirect(_passed(request, result.device, next_url))
            events.auth_event(request, events.REAUTH, outcome=str(result.status), factor=device.factor_kind)
            form.add_error("code", verify_message(result, other_ways=bool(others)))
    return render(
        request,
        "factors/challenge.html",
        {
            "stepup": True,
            "next": next_url,
            "device": device,
            "kind": device.factor_kind,
            "type": factor_type(device),
            "others": others,
            "form": form,
            "sent": isinstance(device, EmailDevice | SMSDevice)
            and request.method == "GET"
            and bool(request.session.get(SESSION_BIND)),
            "reasons": [reason],
            "cancel_url": cancel_url,
            "webauthn_begin": reverse("factors:stepup_webauthn_begin"),
            "webauthn_complete": reverse("factors:stepup_webauthn_complete"),
        },
    )


@never_cache
@login_required
@require_POST
def stepup_webauthn_begin(request: HttpRequest) -> JsonResponse:
    try:
        options, state = webauthn.authenticate_begin(user=request.user)
    except webauthn.WebAuthnError:
        return json_error(_("You have no security key or passkey registered."))
    request.session[SESSION_WEBAUTHN] = state
    return JsonResponse(options)


@never_cache
@login_required
@require_POST
def stepup_webauthn_complete(request: HttpRequest) -> JsonResponse:
    state = request.session.pop(SESSION_WEBAUTHN, None)
    body = json_body(request)
    if body is None:
        return json_error(_("The browser sent an unreadable answer. Please try again."))
    try:
        result = webauthn.authenticate_complete(state=state, response=body, user=request.user)
    except webauthn.WebAuthnError as exc:
        events.auth_event(request, events.REAUTH, outcome="webauthn_rejected", reason=exc.reason)
        return json_error(_("That security key or passkey wasn't accepted. Try again."))
    next_url = body.get("next") if isinstance(body.get("next"), str) else ""
    from authsite.accounts.views import safe_redirect_target

    return JsonResponse({"redirect": _passed(request, result.credential, safe_redirect_target(request, next_url))})
