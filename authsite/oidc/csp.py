"""The Content-Security-Policy of pages whose form ends in a redirect to an application.

``form-action 'self'`` covers every redirect that follows a form's submission (CSP Level 3), so a
sign-in, consent or sign-out form that finishes at an application's registered address would be
blocked by the browser. Those pages add exactly that application's registered origins.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from authsite.login.proof import app_request_for_any
from authsite.oidc.models import Client


def origins(uris: str) -> list[str]:
    """Return the distinct ``scheme://host[:port]`` of space-separated registered addresses."""
    found = []
    for uri in uris.split():
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in found:
                found.append(origin)
    return found


def allow_form_action(response: HttpResponse, allowed: list[str]) -> HttpResponse:
    """Let this page's forms end at ``allowed`` origins besides the site itself."""
    if allowed:
        config = dict(getattr(response, "_csp_config", settings.SECURE_CSP))
        config["form-action"] = [*config.get("form-action", []), *allowed]
        response._csp_config = config
    return response


class ClientFormActionMiddleware:
    """On the sign-in pages of a sign-in for an application, allow that application's redirect origins."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if hasattr(response, "_csp_config") or not response.get("Content-Type", "").startswith("text/html"):
            return response
        session = getattr(request, "session", None)
        app = app_request_for_any(request) if session is not None else None
        if app is None:
            return response
        client = Client.objects.filter(client_id=app.app_id).only("redirect_uris").first()
        return allow_form_action(response, origins(client.redirect_uris)) if client is not None else response
