"""The provider's endpoints: authorize (through the staged login), consent, discovery, JWKS,
token (throttled), end-session. Userinfo and revocation are django-oauth-toolkit's own views."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import InvalidOIDCClientError, OAuthToolkitError
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.openid.connect.core import exceptions as oidc_errors

from authsite.core import clock, events
from authsite.core.clientip import client_ip
from authsite.login import flow
from authsite.login.facts import AppRequest
from authsite.login.proof import app_request_set, session_proof
from authsite.oidc import acr, csp, keys, services, throttle
from authsite.oidc.models import Client

logger = logging.getLogger("authsite.oidc")

SCOPE_TEXTS = {
    "openid": _("Know who you are (a stable identifier, and how you signed in)"),
    "email": _("See your email address"),
}


# The authorization request a step-up was started for (one try: a second shortfall is an error).
SESSION_STEP_UP = "oidc_step_up"


class UnmetRequirements(oauth_errors.OAuth2Error):
    """OpenID Connect Unmet Authentication Requirements 1.0: the sign-in cannot meet what was asked."""

    error = "unmet_authentication_requirements"


class AuthorizeError(Exception):
    """An authorization request this provider answers with an error redirect to the client."""

    def __init__(self, error: type[oauth_errors.OAuth2Error], description: str = "") -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _without_freshness(url: str) -> str:
    """Return ``url`` without ``prompt=login`` and ``max_age``, for the return from a fresh sign-in.

    That sign-in is what they asked for; asking again on the way back would loop, since by then
    some time has passed (with ``max_age=0``, always).
    """
    parts = urlsplit(url)
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "max_age":
            continue
        kept = " ".join(v for v in value.split() if v != "login") if key == "prompt" else value
        if key != "prompt" or kept:
            query.append((key, kept))
    return urlunsplit(parts._replace(query=urlencode(query)))


@method_decorator(never_cache, name="dispatch")
class AuthorizeView(dot_views.AuthorizationView):
    """The authorization endpoint: the code flow with PKCE (S256), through the site's sign-in."""

    template_name = "oidc/consent.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Not LoginRequiredMixin's redirect: an anonymous request is checked first (client, redirect
        # URI, prompt=none) and sent to the staged login with what the application asks.
        self.oauth2_data = {}
        if request.method not in ("GET", "POST"):
            return self.http_method_not_allowed(request, *args, **kwargs)
        return self.authorize(request)

    def authorize(self, request: HttpRequest) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        client = Client.objects.get(client_id=credentials["client_id"])
        try:
            return self._decide(request, client, scopes, credentials)
        except AuthorizeError as exc:
            error = exc.error(description=exc.description or None, state=credentials.get("state"))
            error.redirect_uri = credentials["redirect_uri"]
            events.auth_event(
                request,
                "oidc_authorize_refused",
                outcome=error.error,
                user_id=request.user.pk if request.user.is_authenticated else None,
                client_id=client.client_id,
            )
            return self.error_response(OAuthToolkitError(error=error, redirect_uri=error.redirect_uri), client)

    def _decide(self, request: HttpRequest, client: Client, scopes: list[str], credentials: dict) -> HttpResponse:
        prompt, app = self._requirements(request, client, credentials)
        next_url = _without_freshness(request.get_full_path())
        proof = session_proof(request)
        if proof is None or (app.fresh_after is not None and proof.auth_time < app.fresh_after):
            if "none" in prompt:
                raise AuthorizeError(oidc_errors.LoginRequired)
            # The staged login, with what the application asks; it comes back here afterwards.
            app_request_set(request, app, next_url=next_url)
            return redirect_to_login(next_url, settings.LOGIN_URL)
        stepped_up = request.session.pop(SESSION_STEP_UP, None) == next_url
        if proof.level.rank < app.level.rank:
            if "none" in prompt:
                raise AuthorizeError(oidc_errors.InteractionRequired, "A stronger sign-in is needed.")
            if stepped_up:
                # The sign-in ran and still proved less: an honest error, never a weaker token.
                raise AuthorizeError(UnmetRequirements, "This sign-in could not reach the level the application asks.")
            # Step-up: only the missing second step, not the password again.
            request.session[SESSION_STEP_UP] = next_url
            app_request_set(request, app, next_url=next_url)
            return flow.login_step_up(request, next_url=next_url, app=app)
        if not client.first_party and not services.consent_covers(user=request.user, client=client, scopes=scopes):
            if "none" in prompt:
                raise AuthorizeError(oidc_errors.ConsentRequired)
            if request.method != "POST":
                return self._consent_page(request, client, scopes)
            if request.POST.get("allow") != "yes":
                raise AuthorizeError(oauth_errors.AccessDeniedError, "The user did not allow the application.")
        return self._issue(request, client, scopes, credentials, proof)

    def _requirements(self, request: HttpRequest, client: Client, credentials: dict) -> tuple[set[str], AppRequest]:
        """Read what the request asks (PKCE, prompt, max_age, acr_values) and what the client requires."""
        params = request.GET
        if credentials.get("code_challenge_method") != "S256" or not credentials.get("code_challenge"):
            raise AuthorizeError(oauth_errors.InvalidRequestError, "PKCE with code_challenge_method=S256 is required.")
        prompt = set(params.get("prompt", "").split())
        if "none" in prompt and len(prompt) > 1:
            raise AuthorizeError(oauth_errors.InvalidRequestError, "prompt=none cannot be combined.")
        max_age = params.get("max_age")
        now = clock.timestamp()
        fresh_after = None
        if max_age is not None:
            if not max_age.isdigit() or len(max_age) > 9:
                raise AuthorizeError(oauth_errors.InvalidRequestError, "max_age must be a number of seconds.")
            fresh_after = now - int(max_age)
        if "login" in prompt:
            fresh_after = now
        requested = acr.level_requested(params.get("acr_values", ""))
        # The client's own policy applies even when the application asks for less.
        level = client.level if requested is None else client.level.at_least(requested)
        app = AppRequest(
            app_id=client.client_id, app_name=client.name or client.client_id, level=level, fresh_after=fresh_after
        )
        return prompt, app

    def error_response(self, error, application, **kwargs) -> HttpResponse:
        """Redirect an error to the client, unless the client or its redirect URI is unknown: then
        the user sees a page and no redirect happens (RFC 6749, 4.1.2.1: no open redirector)."""
        redirect, response = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect:
            return self.redirect(response["url"], application)
        oauth_error = response["error"]
        return render(
            self.request,
            "oidc/error.html",
            {"description": oauth_error.description or gettext("The application sent a request this site cannot use.")},
            status=oauth_error.status_code,
        )

    def _consent_page(self, request: HttpRequest, client: Client, scopes: list[str]) -> HttpResponse:
        response = render(
            request,
            self.template_name,
            {
                "client": client,
                "scopes": [(s, SCOPE_TEXTS.get(s, s)) for s in scopes],
                "action": request.get_full_path(),
            },
        )
        return csp.allow_form_action(response, csp.origins(client.redirect_uris))

    def _issue(self, request, client: Client, scopes: list[str], credentials: dict, proof) -> HttpResponse:
        # Recorded for first-party clients too: the Security page lists every app the account uses.
        services.consent_record(user=request.user, client=client, scopes=scopes)
        sid = services.client_signed_in(request, user=request.user, client=client)
        credentials = {**credentials, "auth_proof": proof, "sid": sid}
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, client)
        events.auth_event(
            request, "oidc_code_issued", outcome="success", user_id=request.user.pk, client_id=client.client_id
        )
        return self.redirect(uri, client)


@method_decorator(never_cache, name="dispatch")
class TokenView(dot_views.TokenView):
    """The token endpoint, with failed client authentication and code exchanges throttled."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        ip = client_ip(request)
        client_id = throttle.client_id_of(request)
        verdict = throttle.check(ip=ip, client_id=client_id)
        if verdict is not None:
            events.auth_event(request, "oidc_token_throttled", outcome=verdict.reason, client_id=client_id)
            response = JsonResponse(
                {"error": verdict.error, "error_description": verdict.description}, status=verdict.status
            )
            if verdict.retry_after:
                response["Retry-After"] = str(verdict.retry_after)
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code in (400, 401):
            throttle.record_failure(ip=ip, client_id=client_id)
        return response


def _endpoint(name: str) -> str:
    return settings.SITE_URL + reverse(f"oauth2_provider:{name}")


def discovery_view(request: HttpRequest) -> JsonResponse:
    """The OpenID Provider metadata (OpenID Connect Discovery 1.0, section 3), built on ``SITE_URL``."""
    data = {
        "issuer": settings.SITE_URL,
        "authorization_endpoint": _endpoint("authorize"),
        "token_endpoint": _endpoint("token"),
        "userinfo_endpoint": _endpoint("user-info"),
        "jwks_uri": _endpoint("jwks-info"),
        "end_session_endpoint": _endpoint("rp-initiated-logout"),
        "revocation_endpoint": _endpoint("revoke-token"),
        "scopes_supported": list(settings.OAUTH2_PROVIDER["SCOPES"]),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted({k.alg for k in keys.signing_keys()}),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            "email",
            "email_verified",
        ],
        "acr_values_supported": acr.SUPPORTED,
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": settings.SITE_URL + "/",
    }
    return JsonResponse(data, headers={"Access-Control-Allow-Origin": "*"})


class EndSessionView(dot_views.RPInitiatedLogoutView):
    """RP-initiated logout: ends the site session; the clients it signed in to are told through the
    ``user_logged_out`` receiver (``authsite.oidc.signals``), as for every other sign-out."""

    template_name = "oidc/logout_confirm.html"

    def get_request_application(self, id_token, client_id):
        # django-oauth-toolkit looks an unknown client_id up with .get(), a server error.
        if client_id and not Client.objects.filter(client_id=client_id).exists():
            raise InvalidOIDCClientError()
        return super().get_request_application(id_token, client_id)

    def render_to_response(self, context, **response_kwargs) -> HttpResponse:
        response = super().render_to_response(context, **response_kwargs)
        application = context.get("application")
        if application is not None:
            csp.allow_form_action(response, csp.origins(application.post_logout_redirect_uris))
        return response


def jwks_view(request: HttpRequest) -> JsonResponse:
    """The public signing keys (every configured key, so the next one is known before it signs)."""
    response = JsonResponse(keys.jwks())
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={settings.OIDC_JWKS_MAX_AGE}"
    return response
