"""Services for administrators acting on someone else's account: reset MFA, require a new sign-in
method, clear throttles, send a password reset link, end sessions; and the selector behind
``manage.py mfa_status``.

The admin actions and the management commands call these and nothing else, so both paths do the
same thing and log the same events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy

from authsite.accounts.models import User
from authsite.accounts.sessions import user_sessions_end
from authsite.accounts.throttle import account_key
from authsite.core import clock, events
from authsite.core.links import absolute_url

MFA_RESET = "authn_mfa_reset"
MFA_ENROLL_REQUIRE = "authn_mfa_enrol_require"
THROTTLES_CLEARED = "authn_throttles_cleared"
PASSWORD_RESET_SENT = "authn_password_reset_sent"

logger = logging.getLogger("authsite.notifications")


@dataclass(frozen=True)
class MfaResetResult:
    factors_removed: int
    devices_revoked: int
    sessions_ended: int
    emailed: bool


def user_by_email(email: str) -> User | None:
    """Return the user with this email address (case-insensitive), or None."""
    return User.objects.get_by_email(email)


def account_mfa_reset(*, user: User, by: User | None, request: HttpRequest | None = None) -> MfaResetResult:
    """Remove all of ``user``'s factors and remembered devices, end their sessions, and tell them.

    For someone who lost every factor and proved who they are out of band. ``by`` is the admin (None
    from the command line); both are logged. The next sign-in is judged like a first one, and it
    cannot finish until the user sets up a new factor (``User.mfa_enrol_required_at``): without
    that, a reset would leave the account on a password alone for as long as the user likes.
    """
    from factors.models import DEVICE_MODELS, WebAuthnUserHandle
    from risk.trust import trusted_devices_revoke

    with transaction.atomic():
        removed = 0
        for model in DEVICE_MODELS:
            removed += model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
        WebAuthnUserHandle.objects.filter(user=user).delete()
        revoked = trusted_devices_revoke(user=user)
        ended = user_sessions_end(user=user)
        user.mfa_enrol_required_at = clock.now()
        user.save(update_fields=["mfa_enrol_required_at"])
    events.auth_event(
        request,
        MFA_RESET,
        outcome="success",
        user_id=user.pk,
        by_user_id=by.pk if by is not None else None,
        factors_removed=removed,
        devices_revoked=revoked,
        sessions_ended=ended,
        enrol_required=True,
    )
    from authsite.accounts.services import send_templated_email

    emailed = send_templated_email(
        to=user.email,
        subject=gettext_lazy("your sign-in methods were reset"),
        user=user,
        template="emails/mfa_reset.txt",
        context={"when": clock.now(), "login_url": absolute_url(reverse("login"))},
    )
    return MfaResetResult(removed, revoked, ended, emailed)


def account_factor_revoke(*, device, by: User | None, request: HttpRequest | None = None) -> int:
    """Remove one factor for its owner (a phone lost, a key reported stolen); end their sessions.

    As when the owner removes a factor themselves, every browser signed in under the old set of
    factors is signed out (OWASP ASVS 7.4.3); the owner is emailed. Return the sessions ended.
    """
    from factors.registry import factor_type
    from factors.services import factor_remove

    user = device.user
    with transaction.atomic():
        factor_remove(user=user, device_id=device.persistent_id)
        ended = user_sessions_end(user=user)
    events.auth_event(
        request,
        events.MFA_REMOVED,
        outcome="success",
        user_id=user.pk,
        by_user_id=by.pk if by is not None else None,
        factor=device.factor_kind,
        sessions_ended=ended,
    )
    from authsite.accounts.services import send_templated_email

    send_templated_email(
        to=user.email,
        subject=gettext_lazy("a sign-in method was removed"),
        user=user,
        template="emails/factor_revoked.txt",
        context={
            "kind": factor_type(device).in_sentence,
            "name": device.name,
            "when": clock.now(),
            "security_url": absolute_url(reverse("factors:security")),
        },
    )
    return ended


def account_mfa_enroll_require(*, user: User, by: User | None, request: HttpRequest | None = None) -> bool:
    """Make ``user``'s next sign-in stop until they set up a new factor; keep everything else.

    For an account whose factors are in doubt but not lost (a phone changed hands, only SMS left).
    Sessions already open go on; end them separately if they are suspect. Return False when the
    flag was already set (its date stays that of the first request).
    """
    changed = bool(
        User.objects.filter(pk=user.pk, mfa_enrol_required_at__isnull=True).update(mfa_enrol_required_at=clock.now())
    )
    user.refresh_from_db(fields=["mfa_enrol_required_at"])
    if changed:
        events.auth_event(
            request, MFA_ENROLL_REQUIRE, outcome="success", user_id=user.pk, by_user_id=by.pk if by else None
        )
    return changed


def account_throttles_clear(*, user: User, by: User | None, request: HttpRequest | None = None) -> int:
    """Reset the failure counters of every device of ``user`` and their password throttle.

    The per-IP password counter is left alone: it protects every account from that address.
    Return how many devices had a counter to reset.
    """
    from factors.models import DEVICE_MODELS

    reset = 0
    for model in DEVICE_MODELS:
        reset += (
            model.objects.filter(user=user)
            .exclude(throttling_failure_count=0, throttling_failure_timestamp__isnull=True)
            .update(throttling_failure_count=0, throttling_failure_timestamp=None)
        )
    cache.delete(account_key(user_id=user.pk))
    events.auth_event(request, THROTTLES_CLEARED, outcome="success", user_id=user.pk, by_user_id=by.pk if by else None)
    return reset


def account_password_reset_send(*, request: HttpRequest, user: User, by: User | None) -> bool:
    """Email ``user`` a password reset link (admins never type a password, OWASP ASVS 6.4.6).

    Return whether the email went out: False when the account is inactive (no link is sent to an
    account that cannot sign in) or when sending failed (logged with the outcome "failure").
    """
    if not user.is_active:
        return False
    from authsite.accounts.tasks import password_reset_message

    # Sent here rather than queued: the admin must know whether the link went out. Unlike the
    # public reset page, an account without a usable password yet (made by an admin) gets one.
    try:
        password_reset_message(user).send()
        sent = True
    except Exception as exc:
        # Without the message: it holds the link.
        logger.error(
            "password reset link not sent",
            extra={"event": "notification_failed", "user_id": user.pk, "error": type(exc).__name__},
        )
        sent = False
    events.auth_event(
        request,
        PASSWORD_RESET_SENT,
        outcome="success" if sent else "failure",
        user_id=user.pk,
        by_user_id=by.pk if by else None,
        level=logging.INFO if sent else logging.WARNING,
    )
    return sent


# --- Selectors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorStatus:
    kind: str
    name: str
    device_id: str
    confirmed: bool
    created_at: datetime
    last_used_at: datetime | None
    failure_count: int
    locked_until: datetime | None
    detail: str = ""


def factor_locked_until(device) -> datetime | None:
    """Return when ``device``'s throttle lets the next attempt through, or None if it does now."""
    left = device.throttle_seconds_left()
    return clock.now() + timedelta(seconds=left) if left else None


def account_mfa_status(*, user: User, events_limit: int = 5) -> dict:
    """Return the user's factors (every device, confirmed or not, but not the internal account-address
    fallback), live remembered devices and last sign-ins, for ``manage.py mfa_status``."""
    from factors.models import DEVICE_MODELS, RecoveryCodeDevice
    from risk.models import LoginEvent
    from risk.trust import trusted_devices_of

    factors: list[FactorStatus] = []
    for model in DEVICE_MODELS:
        for device in model.objects.filter(model.factor_filter, user=user).order_by("created_at", "pk"):
            detail = f"{device.remaining()} unused codes" if isinstance(device, RecoveryCodeDevice) else ""
            factors.append(
                FactorStatus(
                    kind=model.factor_kind,
                    name=device.name,
                    device_id=device.persistent_id,
                    confirmed=device.confirmed,
                    created_at=device.created_at,
                    last_used_at=device.last_used_at,
                    failure_count=device.throttling_failure_count,
                    locked_until=factor_locked_until(device),
                    detail=detail,
                )
            )
    return {
        "factors": factors,
        "trusted_devices": trusted_devices_of(user),
        "events": list(LoginEvent.objects.filter(user=user).order_by("-created_at")[:events_limit]),
    }
