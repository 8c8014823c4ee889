"""Authentication events in the OWASP logging vocabulary, one JSON line each.

Never pass a password, code, secret or session id here: only the fields below are emitted.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from authsite.core.clientip import client_ip

logger = logging.getLogger("authsite.events")

# Event names (OWASP Application Logging Vocabulary Cheat Sheet, "authn_*", "session_*" ...).
SIGNUP = "user_created"
SIGNUP_ATTEMPT = "authn_signup_attempt"
ACTIVATED = "user_activated"
ACTIVATION_FAIL = "authn_activation_fail"
LOGIN_SUCCESS = "authn_login_success"
LOGIN_PENDING = "authn_login_pending"
LOGIN_FAIL = "authn_login_fail"
LOGIN_FAIL_MAX = "authn_login_fail_max"
LOGIN_EXPIRED = "authn_login_expired"
LOGOUT = "authn_logout"
PASSWORD_CHANGE = "authn_password_change"
PASSWORD_RESET_REQUEST = "authn_password_reset_request"
PASSWORD_RESET = "authn_password_reset"
# An account email (sign-up, activation, reset) not sent: its address or client IP is over the cap.
EMAIL_CAPPED = "authn_email_capped"
SESSION_EXPIRED = "session_expired"
THROTTLE_UNAVAILABLE = "authn_throttle_unavailable"
MALFORMED_REQUEST = "input_validation_fail"
REAUTH = "authn_reauth"
MFA_CHALLENGE = "authn_mfa_challenge"
MFA_SUCCESS = "authn_mfa_success"
MFA_FAIL = "authn_mfa_fail"
MFA_THROTTLED = "authn_mfa_fail_max"
MFA_ENROLLED = "authn_mfa_enrolled"
# A sign-in paused until the user sets up a new factor (after an admin reset), and its end.
MFA_ENROLL_REQUIRED = "authn_mfa_enrol_required"
MFA_ENROLL_COMPLETED = "authn_mfa_enrol_completed"
MFA_REMOVED = "authn_mfa_removed"
MFA_CHANGED = "authn_mfa_changed"
MFA_RECOVERY_USED = "authn_mfa_recovery_used"
MFA_CODE_SENT = "authn_mfa_code_sent"
MFA_CODE_SEND_FAILED = "authn_mfa_code_send_fail"
TOKEN_REUSE = "authn_token_reuse"

_USER_AGENT_MAX = 512


def auth_event(
    request: HttpRequest | None,
    event: str,
    *,
    outcome: str,
    user_id: int | None = None,
    level: int = logging.INFO,
    **fields: Any,
) -> None:
    """Log one authentication event with the request's context."""
    record: dict[str, Any] = {"event": event, "outcome": outcome, "user_id": user_id}
    if request is not None:
        if user_id is None and getattr(request, "user", None) is not None and request.user.is_authenticated:
            record["user_id"] = request.user.pk
        record["client_ip"] = client_ip(request)
        record["user_agent"] = request.META.get("HTTP_USER_AGENT", "")[:_USER_AGENT_MAX]
        record["request_id"] = getattr(request, "request_id", None)
        # The route's name, not the path: some paths carry single-use tokens (activation links).
        match = getattr(request, "resolver_match", None)
        record["view"] = match.view_name if match is not None else None
    record.update(fields)
    logger.log(level, event, extra=record)
