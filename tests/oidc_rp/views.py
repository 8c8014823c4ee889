"""Pages of the test relying party: a home page, the login button, the callback, logout."""

from __future__ import annotations

from importlib import import_module

import requests
from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tests.oidc_rp.client import LogoutTokenError, SessionIndex, check_id_token, check_logout_token, make_client

# What the login button may pass on to the provider's authorization endpoint.
AUTH_PARAMS = ("acr_values", "max_age", "prompt", "login_hint")

_client = None


def client():
    global _client  # noqa: PLW0603 - one Authlib client per process, as an app would hold it
    if _client is None:
        _client = make_client(
            provider_url=settings.RP_PROVIDER_URL,
            client_id=settings.RP_CLIENT_ID,
            client_secret=settings.RP_CLIENT_SECRET,
        )
    return _client


def index() -> SessionIndex:
    return SessionIndex(settings.STATE_DIR)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "rp/home.html", {"claims": request.session.get("claims"), "error": request.GET.get("error")})


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    extra = {name: request.POST[name] for name in AUTH_PARAMS if request.POST.get(name)}
    request.session["asked"] = extra
    return client().authorize_redirect(request, request.build_absolute_uri(reverse("callback")), **extra)


def callback(request: HttpRequest) -> HttpResponse:
    asked = request.session.pop("asked", {})
    state = request.GET.get("state", "")
    state_data = client().framework.get_state_data(request.session, state) or {}
    try:
        # Authlib checks state against the session, sends the PKCE verifier, and validates the ID
        # token itself; check_id_token repeats that with at_hash and auth_time made mandatory.
        token = client().authorize_access_token(request)
    except OAuthError as exc:
        return _error(exc.error or "oauth_error")
    except Exception as exc:  # every failure is shown on the page, never a sign-in
        return _error(type(exc).__name__)
    try:
        max_age = int(asked["max_age"]) if "max_age" in asked else None
        claims = check_id_token(client(), token, nonce=state_data.get("nonce", ""), max_age=max_age)
    except Exception as exc:
        return _error(f"id_token_rejected: {exc}")
    wanted = asked.get("acr_values", "").split()
    if wanted and claims.get("acr") not in wanted:
        return _error(f"acr_not_met: {claims.get('acr')}")
    request.session.cycle_key()
    request.session["claims"] = {
        name: claims.get(name) for name in ("sub", "email", "email_verified", "acr", "amr", "auth_time", "sid")
    }
    request.session["id_token"] = token["id_token"]
    request.session["access_token"] = token["access_token"]
    request.session.save()
    index().add(sid=claims.get("sid") or "", sub=claims["sub"], session_key=request.session.session_key)
    return HttpResponseRedirect(reverse("home"))


def _error(code: str) -> HttpResponse:
    return HttpResponseRedirect(f"{reverse('home')}?error={code}")


def userinfo(request: HttpRequest) -> HttpResponse:
    """Ask the provider's userinfo endpoint with the stored access token; show the status it gives."""
    token = request.session.get("access_token")
    if not token:
        return HttpResponse("signed out", content_type="text/plain", status=401)
    metadata = client().load_server_metadata()
    reply = requests.get(metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return HttpResponse(f"{reply.status_code} {reply.text}", content_type="text/plain")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """RP-initiated logout: end this app's session, then ask the provider to end its own."""
    id_token = request.session.get("id_token", "")
    request.session.flush()
    return client().logout_redirect(
        request,
        post_logout_redirect_uri=request.build_absolute_uri(reverse("logged_out")),
        id_token_hint=id_token,
    )


def logged_out(request: HttpRequest) -> HttpResponse:
    return render(request, "rp/home.html", {"claims": None, "logged_out": True})


@csrf_exempt
@require_POST
def backchannel_logout(request: HttpRequest) -> HttpResponse:
    """End this app's sessions named by a logout token the provider POSTs (server to server)."""
    try:
        claims = check_logout_token(client(), request.POST.get("logout_token", ""))
    except LogoutTokenError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in index().take(sid=claims.get("sid") or "", sub=claims.get("sub") or ""):
        store(session_key=key).delete()
    response = HttpResponse("", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response
