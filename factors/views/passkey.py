"""Passkey sign-in without a username."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import DEVICE_ID_SESSION_KEY

from authsite.accounts.views import safe_redirect_target
from authsite.core import events
from authsite.core.redirects import json_redirect
from authsite.login import flow
from authsite.login.facts import LoginFacts
from factors import webauthn
from factors.registry import factor_proof
from factors.stepup import SESSION_FACTOR, factor_reauth_proof, reauth_level
from factors.views.common import json_body, json_error

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PASSKEY_STATE = "factors_passkey_login"


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
    body = json_body(request)
    if body is None:
        return json_error("The browser sent an unreadable answer. Please try again.")
    credential = body.get("credential") if isinstance(body.get("credential"), dict) else body
    try:
        result = webauthn.authenticate_complete(state=state, response=credential)
    except webauthn.WebAuthnError as exc:
        events.auth_event(request, events.LOGIN_FAIL, outcome="passkey_rejected", reason=exc.reason)
        return json_error("That passkey wasn't accepted. Sign in with your email and password instead.")
    if not result.user_verified:
        events.auth_event(request, events.LOGIN_FAIL, outcome="passkey_without_uv", user_id=result.user.pk)
        return json_error(
            "Your passkey didn't confirm it's you with a PIN or biometrics. Sign in with your password instead."
        )
    next_url = body.get("next") if isinstance(body.get("next"), str) else ""
    response = flow.login_begin(
        request,
        user=result.user,
        backend=MODEL_BACKEND,
        next_url=safe_redirect_target(request, next_url),
        facts=LoginFacts(
            passkey_verified=True,
            factor_kind=result.credential.factor_kind,
            factor_proof=factor_proof(result.credential, user_verified=True),
        ),
        session_data={
            DEVICE_ID_SESSION_KEY: result.credential.persistent_id,
            SESSION_FACTOR: factor_reauth_proof(reauth_level(result.credential)),
        },
    )
    return json_redirect(response)
