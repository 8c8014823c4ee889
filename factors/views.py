"""Factor pages: the sign-in challenge, enrolment required at sign-in, passkey sign-in, and the
Security page with enrollment.

Views parse input, call one service from ``factors.services`` / ``factors.webauthn`` or the login
flow, and respond. Every state change is a POST with a CSRF token.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login

from authsite.accounts.reauth import recent_auth_required
from authsite.accounts.sessions import user_sessions_end
from authsite.accounts.views import safe_redirect_target
from authsite.core import events
from authsite.core.clientip import client_ip
from authsite.core.parsing import parse_id
from authsite.core.redirects import json_redirect
from authsite.login import flow
from authsite.login.facts import LoginFacts
from authsite.login.listeners import notify_factor_failed
from authsite.login.state import PendingLogin, pending_login_stash
from factors import services, webauthn
from factors.forms import CodeForm, DeviceForm, PhoneForm, RenameForm
from factors.models import EmailDevice, RecoveryCodeDevice, SMSDevice, TOTPDevice, WebAuthnCredential
from factors.notify import notify_factor_change
from factors.registry import Requirement, factor_type, offer_key, satisfies
from factors.stages import ENROL_KEY
from factors.stages import KEY as CHALLENGE_KEY
from factors.stepup import SESSION_FACTOR, factor_reauth_mark, factor_reauth_proof, reauth_level

logger = logging.getLogger(__name__)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PASSKEY_STATE = "factors_passkey_login"
REGISTER_STATE = "factors_webauthn_register"
TOTP_ENROLL = "factors_totp_enroll"
CODE_ENROLL = "factors_code_enroll"
MAX_JSON_BODY = 64 * 1024

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


def _send_message(result: services.SendResult, *, email: bool, other_ways: bool) -> str:
    """Why no code was sent; ``other_ways`` when the page offers another way to confirm."""
    text = (SEND_MESSAGES if other_ways else SEND_MESSAGES_NO_OTHER_WAY)[result.status]
    if email and result.status is services.SendStatus.DELIVERY_FAILED:
        text = text.replace("a text", "an email")
    return text.format(seconds=result.seconds_left)


def _verify_message(result: services.VerifyResult, *, other_ways: bool) -> str:
    """What to say under the code field; ``other_ways`` when the page offers another way to confirm."""
    if result.status is services.VerifyStatus.THROTTLED:
        seconds = result.seconds_left
        wait = f"Too many wrong codes. Please wait {seconds} second{'s' if seconds != 1 else ''}"
        return f"{wait}, or choose another way." if other_ways else f"{wait}."
    if result.status is services.VerifyStatus.REPLAY:
        return "That code was already used. Wait for the next one."
    return "That code didn't work. Check it and try again."


def _json_body(request: HttpRequest) -> dict | None:
    if len(request.body) > MAX_JSON_BODY:
        return None
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: arrays or objects nested thousands deep fit well within MAX_JSON_BODY.
        return None
    return data if isinstance(data, dict) else None


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


# --- The challenge stage ------------------------------------------------------------------------


def _pending_user(pending: PendingLogin):
    return pending.user()


def challenge_options(user, minimum: str, exclude: list[str] | tuple[str, ...] = ()) -> list:
    """Return the devices that can answer a challenge needing ``minimum``, the one to offer first first."""
    devices = [
        d
        for d in services.user_challenge_devices(user)
        if satisfies(d, minimum) and d.factor_kind not in exclude and not (isinstance(d, SMSDevice) and not d.verified)
    ]
    return sorted(devices, key=offer_key)


REASON_TEXTS = {
    Requirement.ANY: "Your account is protected by a second step.",
    Requirement.STRONG: "This sign-in looks unusual, so we need a strong second step.",
    Requirement.PHISHING_RESISTANT: "This sign-in looks unusual, so only a passkey or security key will do.",
}


@never_cache
@require_http_methods(["GET", "POST"])
@flow.pending_login_required(CHALLENGE_KEY)
def challenge_view(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    user = _pending_user(pending)
    state = pending.state_for(CHALLENGE_KEY)
    minimum = state.get("minimum", Requirement.ANY)
    options = challenge_options(user, minimum, state.get("exclude", ()))
    if not options:
        events.auth_event(request, events.MFA_FAIL, outcome="no_usable_factor", user_id=user.pk, minimum=minimum)
        return flow.login_abort(
            request,
            "This sign-in needs a stronger check than your account has set up. Sign in from a device "
            "you have used before, or contact support.",
        )
    by_id = {d.persistent_id: d for d in options}
    chosen = request.POST.get("device") or request.GET.get("method") or ""
    device = by_id.get(chosen, options[0])
    others = [(d, factor_type(d)) for d in options if d.persistent_id != device.persistent_id]
    form = CodeForm(label=_code_label(device), numeric=not isinstance(device, RecoveryCodeDevice))

    if request.method == "POST":
        if chosen not in by_id:
            # A method that is not offered for this sign-in (another user's, or too weak: downgrade).
            events.auth_event(request, events.MFA_FAIL, outcome="method_not_allowed", user_id=user.pk)
            messages.error(request, "That way of confirming isn't available for this sign-in.")
            return redirect(reverse("factors:challenge"))
        if request.POST.get("action") == "send":
            return _challenge_send(request, pending, user, device, other_ways=bool(others))
        form = CodeForm(request.POST, label=_code_label(device), numeric=not isinstance(device, RecoveryCodeDevice))
        if form.is_valid():
            result = services.factor_verify(
                device_id=device.persistent_id, user=user, response=form.cleaned_data["code"], bind=pending.id
            )
            if result.ok:
                return _challenge_passed(
                    request,
                    pending,
                    user,
                    result.device,
                    recovery_left=result.recovery_codes_left,
                    remember=request.POST.get("remember") == "on",
                )
            if result.status is services.VerifyStatus.REPLAY:
                events.auth_event(request, events.TOKEN_REUSE, outcome="failure", user_id=user.pk)
            if result.status is not services.VerifyStatus.THROTTLED:
                # A locked device refuses without checking: that is not another failed guess.
                notify_factor_failed(request, user=user)
            events.auth_event(
                request,
                events.MFA_THROTTLED if result.status is services.VerifyStatus.THROTTLED else events.MFA_FAIL,
                outcome=str(result.status),
                user_id=user.pk,
                factor=device.factor_kind,
            )
            form.add_error("code", _verify_message(result, other_ways=bool(others)))
    elif not state.get("logged"):
        state["logged"] = True
        pending_login_stash(request, pending)
        events.auth_event(request, events.MFA_CHALLENGE, outcome="challenged", user_id=user.pk, minimum=minimum)

    return render(
        request,
        "factors/challenge.html",
        {
            "device": device,
            "kind": device.factor_kind,
            "type": factor_type(device),
            "others": others,
            "form": form,
            "sent": device.persistent_id in state.get("sent", []),
            "reasons": state.get("reasons") or [REASON_TEXTS.get(Requirement(minimum))],
            "offer_remember": pending.facts.can_remember_device,
            "remember_days": getattr(settings, "RISK_TRUSTED_DEVICE_DAYS", 30),
        },
    )


def _code_label(device) -> str:
    if isinstance(device, TOTPDevice):
        return "6-digit code from your authenticator app"
    if isinstance(device, RecoveryCodeDevice):
        return "Recovery code"
    if isinstance(device, SMSDevice):
        return "6-digit code from the text message"
    return "6-digit code from the email"


def _challenge_send(request: HttpRequest, pending: PendingLogin, user, device, *, other_ways: bool) -> HttpResponse:
    if isinstance(device, SMSDevice):
        result = services.factor_sms_send_code(
            user=user, device_id=device.persistent_id, bind=pending.id, client_ip=client_ip(request)
        )
    elif isinstance(device, EmailDevice):
        result = services.factor_email_send_code(
            user=user, device_id=device.persistent_id, bind=pending.id, client_ip=client_ip(request)
        )
    else:
        messages.error(request, "That method doesn't send codes.")
        return redirect(f"{reverse('factors:challenge')}?method={device.persistent_id}")
    if result.sent:
        state = pending.state_for(CHALLENGE_KEY)
        state["sent"] = sorted(set(state.get("sent", [])) | {device.persistent_id})
        pending_login_stash(request, pending)
        events.auth_event(request, events.MFA_CODE_SENT, outcome="sent", user_id=user.pk, factor=device.factor_kind)
        messages.success(request, f"We sent a code to {result.destination}.")
    else:
        events.auth_event(
            request, events.MFA_CODE_SEND_FAILED, outcome=str(result.status), user_id=user.pk, factor=device.factor_kind
        )
        messages.error(request, _send_message(result, email=isinstance(device, EmailDevice), other_ways=other_ways))
    return redirect(f"{reverse('factors:challenge')}?method={device.persistent_id}")


def _challenge_passed(
    request: HttpRequest, pending: PendingLogin, user, device, *, recovery_left=None, remember: bool = False
) -> HttpResponse:
    pending.session_data[DEVICE_ID_SESSION_KEY] = device.persistent_id
    pending.session_data[SESSION_FACTOR] = factor_reauth_proof(reauth_level(device))
    pending.facts.factor_kind = device.factor_kind
    pending.facts.remember_device = remember
    events.auth_event(request, events.MFA_SUCCESS, outcome="success", user_id=user.pk, factor=device.factor_kind)
    if recovery_left is not None:
        events.auth_event(request, events.MFA_RECOVERY_USED, outcome="success", user_id=user.pk, left=recovery_left)
        notify_factor_change(
            request,
            user=user,
            subject="a recovery code was used",
            what=f"A recovery code was used to sign in. {recovery_left} unused codes remain.",
        )
        messages.warning(
            request,
            f"You used a recovery code; {recovery_left} remain. If you lost your device, add a new "
            "factor and make new recovery codes on your Security page.",
        )
    return flow.login_stage_passed(request, pending, CHALLENGE_KEY)


@never_cache
@require_POST
@flow.pending_login_required(CHALLENGE_KEY)
def challenge_webauthn_begin(request: HttpRequest, pending: PendingLogin) -> JsonResponse:
    user = _pending_user(pending)
    try:
        options, state = webauthn.authenticate_begin(user=user)
    except webauthn.WebAuthnError:
        return _json_error("You have no security key or passkey registered. Choose another way.")
    return _webauthn_state_keep(request, pending, CHALLENGE_KEY, state, options)


@never_cache
@require_POST
@flow.pending_login_required(CHALLENGE_KEY)
def challenge_webauthn_complete(request: HttpRequest, pending: PendingLogin) -> JsonResponse:
    user = _pending_user(pending)
    body = _json_body(request)
    state = _webauthn_state_take(request, pending, CHALLENGE_KEY)
    if body is None:
        return _json_error("The browser sent an unreadable answer. Please try again.")
    try:
        result = webauthn.authenticate_complete(state=state, response=body, user=user)
    except webauthn.WebAuthnError as exc:
        events.auth_event(request, events.MFA_FAIL, outcome="webauthn_rejected", user_id=user.pk, reason=exc.reason)
        notify_factor_failed(request, user=user)
        return _json_error("That security key or passkey wasn't accepted. Try again or choose another way.")
    remember = isinstance(body.get("remember"), bool) and body["remember"]
    return json_redirect(_challenge_passed(request, pending, user, result.credential, remember=remember))


# --- Enrolment required at sign-in -------------------------------------------------------------
# After an admin reset the sign-in pauses here (``factors.stages.EnrolStage``) until the user sets
# up an authenticator app, passkey or security key. The user is not signed in yet: these views work
# on the pending login's user, keep their state in the pending login, and reuse the Security page's
# services, so an abandoned attempt leaves only an unconfirmed device that counts for nothing.


@never_cache
@require_GET
@flow.pending_login_required(ENROL_KEY)
def enrol_view(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    return render(request, "factors/enrol.html")


@never_cache
@require_POST
@flow.pending_login_required(ENROL_KEY)
def enrol_totp_begin(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    enrollment = services.factor_enroll_totp_begin(user=_pending_user(pending))
    pending.state_for(ENROL_KEY)["totp"] = enrollment.device.persistent_id
    pending_login_stash(request, pending)
    return redirect("factors:enrol_totp")


@never_cache
@require_http_methods(["GET", "POST"])
@flow.pending_login_required(ENROL_KEY)
def enrol_totp_confirm(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    user = _pending_user(pending)
    device = _unconfirmed_device_of(user, pending.state_for(ENROL_KEY).get("totp"), (TOTPDevice,))
    if device is None:
        return redirect("factors:enrol")
    form = CodeForm(request.POST if request.method == "POST" else None, label=TOTP_CODE_LABEL)
    if request.method == "POST" and form.is_valid():
        result = services.factor_enroll_totp_confirm(
            user=user, device_id=device.persistent_id, token=form.cleaned_data["code"]
        )
        if result.ok:
            return _enrol_passed(request, pending, user, result.device, TOTP_ADDED)
        events.auth_event(request, events.MFA_FAIL, outcome=str(result.status), user_id=user.pk, factor="totp")
        if result.status is services.VerifyStatus.RESTART:
            messages.error(request, TOTP_RESTART)
            return redirect("factors:enrol")
        form.add_error("code", _verify_message(result, other_ways=False))
    return _totp_setup_page(request, device, form, cancel_url=reverse("factors:enrol"))


@never_cache
@require_POST
@flow.pending_login_required(ENROL_KEY)
def enrol_webauthn_begin(request: HttpRequest, pending: PendingLogin) -> JsonResponse:
    body = _json_body(request) or {}
    options, state = webauthn.register_begin(user=_pending_user(pending), passkey=bool(body.get("passkey", True)))
    return _webauthn_state_keep(request, pending, ENROL_KEY, state, options)


@never_cache
@require_POST
@flow.pending_login_required(ENROL_KEY)
def enrol_webauthn_complete(request: HttpRequest, pending: PendingLogin) -> JsonResponse:
    user = _pending_user(pending)
    state = _webauthn_state_take(request, pending, ENROL_KEY)
    credential = _webauthn_register(request, user, state)
    if isinstance(credential, JsonResponse):
        return credential
    return json_redirect(_enrol_passed(request, pending, user, credential, _webauthn_added(credential)))


def _enrol_passed(request: HttpRequest, pending: PendingLogin, user, device, what: str) -> HttpResponse:
    """The required factor is confirmed (and the flag cleared with it): log, notify, finish the login."""
    pending.state_for(ENROL_KEY).clear()
    # The new factor verifies the session being made, as it does for a signed-in user who adds one.
    pending.session_data[DEVICE_ID_SESSION_KEY] = device.persistent_id
    pending.session_data[SESSION_FACTOR] = factor_reauth_proof(reauth_level(device))
    _factor_added(request, user, device, what)
    events.auth_event(
        request, events.MFA_ENROL_COMPLETED, outcome="success", user_id=user.pk, factor=device.factor_kind
    )
    if not pending.next_url:
        # The Security page offers recovery codes, the way back in if this factor is lost too.
        pending.next_url = reverse("factors:security")
        messages.success(request, "Your new sign-in method is ready. Make recovery codes now, in case you lose it too.")
    else:
        messages.success(request, "Your new sign-in method is ready.")
    return flow.login_stage_passed(request, pending, ENROL_KEY)


def _webauthn_state_keep(
    request: HttpRequest, pending: PendingLogin, key: str, state: dict, options: dict
) -> JsonResponse:
    """Keep a WebAuthn ceremony's state in stage ``key``'s part of the pending login; send the options."""
    pending.state_for(key)["webauthn"] = state
    pending_login_stash(request, pending)
    return JsonResponse(options)


def _webauthn_state_take(request: HttpRequest, pending: PendingLogin, key: str) -> dict | None:
    """Remove and return the ceremony state kept by ``_webauthn_state_keep`` (single use)."""
    state = pending.state_for(key).pop("webauthn", None)
    pending_login_stash(request, pending)
    return state


# --- Passkey sign-in without a username -------------------------------------------------------


@never_cache
@require_POST
def passkey_login_begin(request: HttpRequest) -> JsonResponse:
    options, state = webauthn.authenticate_begin(user=None)
    request.session[PASSKEY_STATE] = state
    return JsonResponse(options)


@never_cache
@require_POST
def passkey_login_complete(request: HttpRequest) -> JsonResponse:
    state = request.session.pop(PASSKEY_STATE, None)
    body = _json_body(request)
    if body is None:
        return _json_error("The browser sent an unreadable answer. Please try again.")
    credential = body.get("credential") if isinstance(body.get("credential"), dict) else body
    try:
        result = webauthn.authenticate_complete(state=state, response=credential)
    except webauthn.WebAuthnError as exc:
        events.auth_event(request, events.LOGIN_FAIL, outcome="passkey_rejected", reason=exc.reason)
        return _json_error("That passkey wasn't accepted. Sign in with your email and password instead.")
    if not result.user_verified:
        events.auth_event(request, events.LOGIN_FAIL, outcome="passkey_without_uv", user_id=result.user.pk)
        return _json_error(
            "Your passkey didn't confirm it's you with a PIN or biometrics. Sign in with your password instead."
        )
    next_url = body.get("next") if isinstance(body.get("next"), str) else ""
    response = flow.login_begin(
        request,
        user=result.user,
        backend=MODEL_BACKEND,
        next_url=safe_redirect_target(request, next_url),
        facts=LoginFacts(passkey_verified=True, factor_kind=result.credential.factor_kind),
        session_data={
            DEVICE_ID_SESSION_KEY: result.credential.persistent_id,
            SESSION_FACTOR: factor_reauth_proof(reauth_level(result.credential)),
        },
    )
    return json_redirect(response)


# --- The Security page ---------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def setup_view(request: HttpRequest) -> HttpResponse:
    return render(request, "factors/setup.html")


def _unconfirmed_device(request: HttpRequest, session_key: str, models: tuple):
    """Return the device being enrolled in this session, if it is still the user's and unconfirmed."""
    return _unconfirmed_device_of(request.user, request.session.get(session_key, ""), models)


def _unconfirmed_device_of(user, device_id: object, models: tuple):
    """Return ``user``'s unconfirmed device named ``device_id`` if it is one of ``models``."""
    label, _, raw_pk = str(device_id or "").rpartition("/")
    pk = parse_id(raw_pk)
    for model in models:
        if label == model.model_label() and pk is not None:
            return model.objects.filter(user=user, pk=pk, confirmed=False).first()
    return None


def _end_other_sessions(request: HttpRequest, user=None) -> None:
    """A factor was added or removed: end the user's other sessions (OWASP ASVS 7.4.3).

    Whoever holds a session from before the change must sign in again under the new factor set.
    ``user`` defaults to the signed-in one; a pending login passes its user.
    """
    user = user if user is not None else request.user
    ended = user_sessions_end(user=user, keep_session_key=request.session.session_key)
    if ended:
        events.auth_event(request, "session_ended", outcome="success", user_id=user.pk, scope="others", count=ended)


def _enrolled(request: HttpRequest, device, what: str) -> None:
    """After a new factor is active: verify this session with it, log, and tell the user by email."""
    otp_login(request, device)
    factor_reauth_mark(request.session, reauth_level(device))
    _factor_added(request, request.user, device, what)


def _factor_added(request: HttpRequest, user, device, what: str) -> None:
    """Log a new active factor, end ``user``'s other sessions and tell them by email."""
    events.auth_event(request, events.MFA_ENROLLED, outcome="success", user_id=user.pk, factor=device.factor_kind)
    _end_other_sessions(request, user)
    notify_factor_change(request, user=user, subject="a sign-in method was added", what=what)


@never_cache
@recent_auth_required
@require_POST
def totp_begin(request: HttpRequest) -> HttpResponse:
    enrollment = services.factor_enroll_totp_begin(user=request.user)
    request.session[TOTP_ENROLL] = enrollment.device.persistent_id
    return redirect("factors:totp_confirm")


@never_cache
@recent_auth_required
@require_http_methods(["GET", "POST"])
def totp_confirm(request: HttpRequest) -> HttpResponse:
    device = _unconfirmed_device(request, TOTP_ENROLL, (TOTPDevice,))
    if device is None:
        messages.info(request, "Start again: add an authenticator app.")
        return redirect("factors:security")
    form = CodeForm(request.POST if request.method == "POST" else None, label=TOTP_CODE_LABEL)
    if request.method == "POST" and form.is_valid():
        result = services.factor_enroll_totp_confirm(
            user=request.user, device_id=device.persistent_id, token=form.cleaned_data["code"]
        )
        if result.ok:
            request.session.pop(TOTP_ENROLL, None)
            _enrolled(request, result.device, TOTP_ADDED)
            messages.success(request, "Your authenticator app is ready.")
            return redirect("factors:security")
        if result.status is services.VerifyStatus.RESTART:
            request.session.pop(TOTP_ENROLL, None)
            messages.error(request, TOTP_RESTART)
            return redirect("factors:security")
        form.add_error("code", _verify_message(result, other_ways=False))
    return _totp_setup_page(request, device, form, cancel_url=reverse("factors:security"))


TOTP_CODE_LABEL = "6-digit code from the app"
TOTP_RESTART = "Too many wrong codes. Start again: set up the app with a new QR code."
TOTP_ADDED = "An authenticator app was added to your account."


def _totp_setup_page(request: HttpRequest, device: TOTPDevice, form: CodeForm, *, cancel_url: str) -> HttpResponse:
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


@never_cache
@recent_auth_required
@require_POST
def email_begin(request: HttpRequest) -> HttpResponse:
    device = services.factor_email_enroll_begin(user=request.user)
    return _enroll_send(request, device, email=True)


@never_cache
@recent_auth_required
@require_http_methods(["GET", "POST"])
def sms_begin(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.factor_sms_enroll_begin(user=request.user, phone_number=form.cleaned_data["phone_number"])
        except ValueError as exc:
            form.add_error("phone_number", str(exc))
        else:
            return _enroll_send(request, device, email=False)
    return render(request, "factors/sms_add.html", {"form": form})


def _enroll_send(request: HttpRequest, device, *, email: bool) -> HttpResponse:
    bind = services.enrollment_bind(device)
    if email:
        result = services.factor_email_send_code(
            user=request.user, device_id=device.persistent_id, bind=bind, client_ip=client_ip(request)
        )
    else:
        result = services.factor_sms_send_code(
            user=request.user, device_id=device.persistent_id, bind=bind, client_ip=client_ip(request)
        )
    request.session[CODE_ENROLL] = device.persistent_id
    if result.sent:
        messages.success(request, f"We sent a code to {result.destination}.")
    else:
        messages.error(request, _send_message(result, email=email, other_ways=False))
    return redirect("factors:code_confirm")


@never_cache
@recent_auth_required
@require_http_methods(["GET", "POST"])
def code_confirm(request: HttpRequest) -> HttpResponse:
    device = _unconfirmed_device(request, CODE_ENROLL, (EmailDevice, SMSDevice))
    if device is None:
        return redirect("factors:security")
    email = isinstance(device, EmailDevice)
    form = CodeForm(request.POST if request.method == "POST" else None, label="6-digit code")
    if request.method == "POST" and request.POST.get("action") == "resend":
        return _enroll_send(request, device, email=email)
    if request.method == "POST" and form.is_valid():
        result = services.factor_enroll_code_confirm(
            user=request.user, device_id=device.persistent_id, code=form.cleaned_data["code"]
        )
        if result.ok:
            request.session.pop(CODE_ENROLL, None)
            label = "Email codes were" if email else f"Text messages to {device.masked_destination()} were"
            _enrolled(request, result.device, f"{label} added as a way to sign in.")
            messages.success(request, "Done. You can use it the next time you sign in.")
            return redirect("factors:security")
        if result.status is services.VerifyStatus.RESTART:
            request.session.pop(CODE_ENROLL, None)
            what = "email codes" if email else "the phone"
            messages.error(request, f"Too many wrong codes. Start again: add {what} to get a new code.")
            return redirect("factors:security")
        form.add_error("code", _verify_message(result, other_ways=False))
    return render(
        request,
        "factors/code_confirm.html",
        {"form": form, "destination": device.masked_destination(), "email": email},
    )


@never_cache
@recent_auth_required
@require_POST
def recovery_generate(request: HttpRequest) -> HttpResponse:
    codes = services.factor_recovery_codes_generate(user=request.user)
    events.auth_event(request, events.MFA_CHANGED, outcome="recovery_codes_generated")
    _end_other_sessions(request)
    notify_factor_change(
        request,
        user=request.user,
        subject="new recovery codes",
        what="New recovery codes were made; the old ones no longer work.",
    )
    # Shown once, in this response only: they are stored hashed.
    return render(request, "factors/recovery_codes.html", {"codes": codes, "codes_text": "\n".join(codes)})


def _change_factor(request: HttpRequest, form, change, done, invalid: str) -> HttpResponse:
    """Apply one change from a form of the security page and report it there.

    ``change(cleaned_data)`` calls the service, which raises ValueError with a message for the
    user; ``done(device)`` records, notifies and says what happened; ``invalid`` is shown for a
    form that does not validate.
    """
    if not form.is_valid():
        messages.error(request, invalid)
    else:
        try:
            device = change(form.cleaned_data)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            done(device)
    return redirect("factors:security")


@never_cache
@recent_auth_required
@require_POST
def factor_rename_view(request: HttpRequest) -> HttpResponse:
    def done(device) -> None:
        events.auth_event(request, events.MFA_CHANGED, outcome="renamed", factor=device.factor_kind)
        notify_factor_change(
            request,
            user=request.user,
            subject="a sign-in method was renamed",
            what=f"A sign-in method was renamed to \u201c{device.name}\u201d.",
        )
        messages.success(request, "Renamed.")

    return _change_factor(
        request,
        RenameForm(request.POST),
        lambda data: services.factor_rename(user=request.user, device_id=data["device"], name=data["name"]),
        done,
        "Enter a name of up to 64 characters.",
    )


@never_cache
@recent_auth_required
@require_POST
def factor_remove_view(request: HttpRequest) -> HttpResponse:
    def done(device) -> None:
        events.auth_event(request, events.MFA_REMOVED, outcome="success", factor=device.factor_kind)
        _end_other_sessions(request)
        notify_factor_change(
            request,
            user=request.user,
            subject="a sign-in method was removed",
            what=f"{factor_type(device).label} \u201c{device.name}\u201d was removed from your account.",
        )
        messages.success(request, f"Removed \u201c{device.name}\u201d.")

    return _change_factor(
        request,
        DeviceForm(request.POST),
        lambda data: services.factor_remove(user=request.user, device_id=data["device"]),
        done,
        services.NO_SUCH_DEVICE,
    )


@never_cache
@recent_auth_required
@require_POST
def factor_preferred_view(request: HttpRequest) -> HttpResponse:
    return _change_factor(
        request,
        DeviceForm(request.POST),
        lambda data: services.factor_set_preferred(user=request.user, device_id=data["device"]),
        lambda device: messages.success(request, f"\u201c{device.name}\u201d will be offered first when you sign in."),
        services.NO_SUCH_DEVICE,
    )


@never_cache
@recent_auth_required
@require_POST
def webauthn_register_begin(request: HttpRequest) -> JsonResponse:
    body = _json_body(request) or {}
    passkey = bool(body.get("passkey", True))
    options, state = webauthn.register_begin(user=request.user, passkey=passkey)
    request.session[REGISTER_STATE] = state
    return JsonResponse(options)


@never_cache
@recent_auth_required
@require_POST
def webauthn_register_complete(request: HttpRequest) -> JsonResponse:
    state = request.session.pop(REGISTER_STATE, None)
    credential = _webauthn_register(request, request.user, state)
    if isinstance(credential, JsonResponse):
        return credential
    _enrolled(request, credential, _webauthn_added(credential))
    messages.success(request, f"Your {_webauthn_kind(credential)} \u201c{credential.name}\u201d is ready.")
    return JsonResponse({"redirect": reverse("factors:security")})


def _webauthn_register(request: HttpRequest, user, state: dict | None) -> WebAuthnCredential | JsonResponse:
    """Finish a registration from the request's JSON body; return the credential or an error reply."""
    body = _json_body(request)
    if body is None or not isinstance(body.get("credential"), dict):
        return _json_error("The browser sent an unreadable answer. Please try again.")
    default_name = "Passkey" if (state or {}).get("passkey") else "Security key"
    name = str(body.get("name") or default_name).strip()[:64] or default_name
    try:
        return services.factor_enroll_webauthn_complete(user=user, state=state, response=body["credential"], name=name)
    except webauthn.WebAuthnError as exc:
        logger.info("webauthn registration rejected: %s", exc.reason)
        return _json_error("That security key or passkey couldn't be added. Please try again.")


def _webauthn_kind(credential: WebAuthnCredential) -> str:
    return "passkey" if credential.discoverable else "security key"


def _webauthn_added(credential: WebAuthnCredential) -> str:
    return f"A {_webauthn_kind(credential)} (\u201c{credential.name}\u201d) was added to your account."
