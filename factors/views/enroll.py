"""Enrollment required at sign-in.

After an admin reset the sign-in pauses here (``factors.stages.EnrolStage``) until the user sets
up an authenticator app, passkey or security key. The user is not signed in yet: these views work
on the pending login's user, keep their state in the pending login, and reuse the Security page's
services, so an abandoned attempt leaves only an unconfirmed device that counts for nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import DEVICE_ID_SESSION_KEY

from authsite.core import events
from authsite.core.redirects import json_redirect
from authsite.login import flow
from authsite.login.state import PendingLogin, pending_login_stash
from factors import services, webauthn
from factors.forms import CodeForm
from factors.models import TOTPDevice
from factors.stages import ENROLL_KEY
from factors.stepup import SESSION_FACTOR, factor_reauth_proof, reauth_level
from factors.views.adding import (
    TOTP_ADDED,
    TOTP_CODE_LABEL,
    TOTP_RESTART,
    factor_added,
    totp_setup_page,
    unconfirmed_device_of,
    webauthn_added,
    webauthn_register,
)
from factors.views.codes import verify_message
from factors.views.common import json_body, webauthn_state_keep, webauthn_state_take


@never_cache
@require_GET
@flow.pending_login_required(ENROLL_KEY)
def enroll_view(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    return render(request, "factors/enroll.html")


@never_cache
@require_POST
@flow.pending_login_required(ENROLL_KEY)
def enroll_totp_begin(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    enrollment = services.factor_enroll_totp_begin(user=pending.user())
    pending.state_for(ENROLL_KEY)["totp"] = enrollment.device.persistent_id
    pending_login_stash(request, pending)
    return redirect("factors:enroll_totp")


@never_cache
@require_http_methods(["GET", "POST"])
@flow.pending_login_required(ENROLL_KEY)
def enroll_totp_confirm(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    user = pending.user()
    device = unconfirmed_device_of(user, pending.state_for(ENROLL_KEY).get("totp"), (TOTPDevice,))
    if device is None:
        return redirect("factors:enroll")
    form = CodeForm(request.POST if request.method == "POST" else None, label=TOTP_CODE_LABEL)
    if request.method == "POST" and form.is_valid():
        result = services.factor_enroll_totp_confirm(
            user=user, device_id=device.persistent_id, token=form.cleaned_data["code"]
        )
        if result.ok:
            return _enroll_passed(request, pending, user, result.device, TOTP_ADDED)
        events.auth_event(request, events.MFA_FAIL, outcome=str(result.status), user_id=user.pk, factor="totp")
        if result.status is services.VerifyStatus.RESTART:
            messages.error(request, TOTP_RESTART)
            return redirect("factors:enroll")
        form.add_error("code", verify_message(result, other_ways=False))
    return totp_setup_page(request, device, form, cancel_url=reverse("factors:enroll"))


@never_cache
@require_POST
@flow.pending_login_required(ENROLL_KEY)
def enroll_webauthn_begin(request: HttpRequest, pending: PendingLogin) -> JsonResponse:
    body = json_body(request) or {}
    options, state = webauthn.register_begin(user=pending.user(), passkey=bool(body.get("passkey", True)))
    return webauthn_state_keep(request, pending, ENROLL_KEY, state, options)


@never_cache
@require_POST
@flow.pending_login_required(ENROLL_KEY)
def enroll_webauthn_complete(request: HttpRequest, pending: PendingLogin) -> JsonResponse:
    user = pending.user()
    state = webauthn_state_take(request, pending, ENROLL_KEY)
    credential = webauthn_register(request, user, state)
    if isinstance(credential, JsonResponse):
        return credential
    return json_redirect(_enroll_passed(request, pending, user, credential, webauthn_added(credential)))


def _enroll_passed(request: HttpRequest, pending: PendingLogin, user, device, what: str) -> HttpResponse:
    """The required factor is confirmed (and the flag cleared with it): log, notify, finish the login."""
    pending.state_for(ENROLL_KEY).clear()
    # The new factor verifies the session being made, as it does for a signed-in user who adds one.
    pending.session_data[DEVICE_ID_SESSION_KEY] = device.persistent_id
    pending.session_data[SESSION_FACTOR] = factor_reauth_proof(reauth_level(device))
    factor_added(request, user, device, what)
    events.auth_event(
        request, events.MFA_ENROLL_COMPLETED, outcome="success", user_id=user.pk, factor=device.factor_kind
    )
    if not pending.next_url:
        # The Security page offers recovery codes, the way back in if this factor is lost too.
        pending.next_url = reverse("factors:security")
        messages.success(
            request, _("Your new sign-in method is ready. Make recovery codes now, in case you lose it too.")
        )
    else:
        messages.success(request, _("Your new sign-in method is ready."))
    return flow.login_stage_passed(request, pending, ENROLL_KEY)
