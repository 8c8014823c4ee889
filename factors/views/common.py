"""JSON request bodies and the WebAuthn ceremony state of a pending sign-in, for the factor pages."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse

from authsite.login.state import PendingLogin, pending_login_stash

MAX_JSON_BODY = 64 * 1024


def json_body(request: HttpRequest) -> dict | None:
    """Return the request's JSON object, or None for anything else (too big, unreadable, not an object)."""
    if len(request.body) > MAX_JSON_BODY:
        return None
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: arrays or objects nested thousands deep fit well within MAX_JSON_BODY.
        return None
    return data if isinstance(data, dict) else None


def json_error(message: str, status: int = 400) -> JsonResponse:
    """Return ``{"error": message}`` with ``status``."""
    return JsonResponse({"error": message}, status=status)


def webauthn_state_keep(
    request: HttpRequest, pending: PendingLogin, key: str, state: dict, options: dict
) -> JsonResponse:
    """Keep a WebAuthn ceremony's state in stage ``key``'s part of the pending login; send the options."""
    pending.state_for(key)["webauthn"] = state
    pending_login_stash(request, pending)
    return JsonResponse(options)


def webauthn_state_take(request: HttpRequest, pending: PendingLogin, key: str) -> dict | None:
    """Remove and return the ceremony state kept by ``webauthn_state_keep`` (single use)."""
    state = pending.state_for(key).pop("webauthn", None)
    pending_login_stash(request, pending)
    return state
