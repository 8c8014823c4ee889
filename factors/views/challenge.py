"""The second-factor challenge of a pending sign-in (``factors.stages.ChallengeStage``).

Lists the user's usable factors that meet the sign-in's requirement, the one most likely to work
first, sends email and text codes only on a POST, and verifies one named device.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import DEVICE_ID_SESSION_KEY

from authsite.core import events
from authsite.core.clientip import client_ip
from authsite.core.redirects import json_redirect
from authsite.login import flow
from authsite.login.listeners import notify_factor_failed
from authsite.login.state import PendingLogin, pending_login_stash
from factors import services, webauthn
from factors.forms import CodeForm
from factors.models import EmailDevice, RecoveryCodeDevice, SMSDevice
from factors.notify import notify_factor_change
from factors.registry import Requirement, factor_proof, factor_type, offer_key, satisfies
from factors.stages import KEY as CHALLENGE_KEY
from factors.stepup import SESSION_FACTOR, factor_reauth_proof, reauth_level
from factors.views.codes import code_label, send_message, verify_message
from factors.views.common import json_body, json_error, webauthn_state_keep, webauthn_state_take


def challenge_options(user, minimum: str, exclude: list[str] | tuple[str, ...] = ()) -> list:
    """Return the devices that can answer a challenge needing ``minimum``, the one to offer first first."""
    devices = [
        d
        for d in services.user_challenge_devices(user)
        if satisfies(d, minimum) and d.factor_kind not in exclude and d.can_answer
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
    user = pending.user()
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
    form = CodeForm(label=code_label(device), numeric=not isinstance(device, RecoveryCodeDevice))

    if request.method == "POST":
        if chosen not in by_id:
            # A method that is not offered for this sign-in (another user's, or too weak: downgrade).
            events.auth_event(request, events.MFA_FAIL, outcome="method_not_allowed", user_id=user.pk)
            messages.error(request, "That way of confirming isn't available for this sign-in.")
            return redirect(reverse("factors:challenge"))
        if request.POST.get("action") == "send":
            return _challenge_send(request, pending, user, device, other_ways=bool(others))
        form = CodeForm(request.POST, label=code_label(device), numeric=not isinstance(device, RecoveryCodeDevice))
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
            form.add_error("code", verify_message(result, other_ways=bool(others)))
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


def _challenge_send(request: HttpRequest, pending: PendingLogin, user, device, *, other_ways: bool) -> HttpResponse:
    if not isinstance(device, EmailDevice | SMSDevice):
        messages.error(request, "That method doesn't send codes.")
        return redirect(f"{reverse('factors:challenge')}?method={device.persistent_id}")
    result = services.factor_send_code(
        user=user, device_id=device.persistent_id, bind=pending.id, client_ip=client_ip(request)
    )
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
        messages.error(request, send_message(result, email=isinstance(device, EmailDevice), other_ways=other_ways))
    return redirect(f"{reverse('factors:challenge')}?method={device.persistent_id}")


def _challenge_passed(
    request: HttpRequest,
    pending: PendingLogin,
    user,
    device,
    *,
    recovery_left=None,
    remember: bool = False,
    user_verified: bool = False,
) -> HttpResponse:
    pending.session_data[DEVICE_ID_SESSION_KEY] = device.persistent_id
    pending.session_data[SESSION_FACTOR] = factor_reauth_proof(reauth_level(device))
    pending.facts.factor_kind = device.factor_kind
    pending.facts.factor_proof = factor_proof(device, user_verified=user_verified)
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
    user = pending.user()
    try:
        options, state = webauthn.authenticate_begin(user=user)
    except webauthn.WebAuthnError:
        return json_error("You have no security key or passkey registered. Choose another way.")
    return webauthn_state_keep(request, pending, CHALLENGE_KEY, state, options)


@never_cache
@require_POST
@flow.pending_login_required(CHALLENGE_KEY)
def challenge_webauthn_complete(request: HttpRequest, pending: PendingLogin) -> JsonResponse:
    user = pending.user()
    body = json_body(request)
    state = webauthn_state_take(request, pending, CHALLENGE_KEY)
    if body is None:
        return json_error("The browser sent an unreadable answer. Please try again.")
    try:
        result = webauthn.authenticate_complete(state=state, response=body, user=user)
    except webauthn.WebAuthnError as exc:
        events.auth_event(request, events.MFA_FAIL, outcome="webauthn_rejected", user_id=user.pk, reason=exc.reason)
        notify_factor_failed(request, user=user)
        return json_error("That security key or passkey wasn't accepted. Try again or choose another way.")
    remember = isinstance(body.get("remember"), bool) and body["remember"]
    return json_redirect(
        _challenge_passed(
            request, pending, user, result.credential, remember=remember, user_verified=result.user_verified
        )
    )
