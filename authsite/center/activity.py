"""The Security center's account-activity part: active sessions, recent sign-ins, "This wasn't me".

Also the "new sign-in" email, which this app's login listener (authsite.center.listeners) sends
after a completed sign-in from a new device or place. Selectors and services first, then the views, which parse,
call one of them and respond. Every state change is a POST with a CSRF token. Ending sessions
needs only a signed-in user: it can only take access away, so making it hard (a fresh password)
would help no one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import auth, messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from authsite.accounts.services import send_templated_email
from authsite.accounts.sessions import session_public_id, user_session_end, user_sessions, user_sessions_end
from authsite.core import clock, events
from authsite.core.links import absolute_url
from authsite.core.parsing import parse_id
from authsite.core.ua import parse_ua
from factors.registry import FACTOR_TYPES
from risk import services as risk_services
from risk.models import LoginEvent
from risk.notify import sign_in_facts
from risk.policy import reason_texts
from risk.trust import trusted_devices_revoke

logger = logging.getLogger(__name__)

RECENT_SIGN_INS = 20
SESSION_ENDED = "authn_session_ended"
REPORT_NOT_ME = "authn_report_not_me"

DECISION_TEXTS = {
    "allow": "Password only",
    "challenge": "Asked for a second step",
    "challenge_strong": "Asked for a strong second step",
    "deny": "Refused",
}
OUTCOME_TEXTS = {
    LoginEvent.Outcome.SUCCESS: "Signed in",
    LoginEvent.Outcome.DENIED: "Refused",
    LoginEvent.Outcome.PENDING: "Second step not finished",
    LoginEvent.Outcome.ABANDONED: "Not finished",
}
# A passkey with user verification is both factors at once: no password was entered.
PASSKEY_TEXT = "Passkey instead of a password"
# A session saved this recently is shown as "active now" rather than "0 minutes ago".
ACTIVE_NOW = timedelta(minutes=2)


# --- Selectors ----------------------------------------------------------------------------------


def _factor_in_sentence(kind: str) -> str:
    """Name a factor kind within a sentence; an unknown kind (a removed one) as recorded."""
    return FACTOR_TYPES[kind].in_sentence if kind in FACTOR_TYPES else kind


def _place(ip: str | None) -> str:
    """Return "City, CC" for an address, or "" when GeoIP knows nothing (or fails: it is only a hint)."""
    if not ip:
        return ""
    from risk.geo import GeoIPDatabaseError, lookup

    try:
        geo = lookup(ip)
    except GeoIPDatabaseError:
        logger.warning("GeoIP lookup failed for the session list", extra={"event": "geoip_error"})
        return ""
    if geo is None:
        return ""
    return ", ".join(p for p in (geo.city, geo.country) if p)


@dataclass(frozen=True)
class SessionRow:
    """One of the user's sessions as the Security page shows it."""

    public_id: str
    current: bool
    device: str
    where: str
    ip: str | None
    created_at: datetime | None
    last_seen: datetime | None
    active_now: bool


def session_rows(*, user, current_session_key: str | None) -> list[SessionRow]:
    """Return the user's active sessions for display, the current one first."""
    current_id = session_public_id(current_session_key) if current_session_key else None
    recent = clock.now() - ACTIVE_NOW
    rows = [
        SessionRow(
            public_id=s.public_id,
            current=s.public_id == current_id,
            device=parse_ua(s.user_agent).label if s.user_agent else "",
            where=_place(s.ip),
            ip=s.ip,
            created_at=s.created_at,
            last_seen=s.last_seen,
            active_now=s.last_seen is not None and s.last_seen >= recent,
        )
        for s in user_sessions(user=user)
    ]
    return sorted(rows, key=lambda r: not r.current)


@dataclass(frozen=True)
class SignInRow:
    """One recent sign-in attempt as the activity page shows it."""

    event: LoginEvent
    where: str
    device: str
    decision: str
    reasons: list[str]
    outcome: str
    factor: str
    # The application the sign-in was for (an OpenID Connect client); "" for this site itself.
    app: str = ""


def recent_sign_ins(*, user, limit: int = RECENT_SIGN_INS) -> list[SignInRow]:
    """Return the user's latest sign-in attempts with plain-language decisions and reasons.

    A sign-in with a passkey (no password) says so: the passkey is both steps, so neither "Password
    only" nor "confirmed with a passkey" would be true, and nothing more was asked of it (a refused
    one still says "Refused" and why).
    """
    rows = []
    for event in LoginEvent.objects.filter(user=user).order_by("-created_at")[:limit]:
        device = " on ".join(p for p in (event.browser, event.os) if p)
        passkey = event.method == LoginEvent.Method.PASSKEY and event.decision != "deny"
        asked = event.decision != "allow" and not passkey
        rows.append(
            SignInRow(
                event=event,
                where=", ".join(p for p in (event.city, event.country) if p),
                device=device,
                decision=PASSKEY_TEXT if passkey else DECISION_TEXTS.get(event.decision, event.decision),
                # The reasons explain why more than a password was asked for (not what reassured us);
                # when nothing more was asked they add nothing the user needs.
                reasons=reason_texts(event.reasons) if asked else [],
                outcome=OUTCOME_TEXTS.get(event.outcome, event.outcome),
                factor="" if passkey else _factor_in_sentence(event.factor),
                app=event.app,
            )
        )
    return rows


# --- Services -----------------------------------------------------------------------------------


def session_end(request: HttpRequest, *, public_id: str) -> bool:
    """End one of the signed-in user's other sessions; return whether one ended."""
    if public_id == session_public_id(request.session.session_key or ""):
        return False
    ended = user_session_end(user=request.user, public_id=public_id)
    if ended:
        events.auth_event(request, SESSION_ENDED, outcome="success", scope="one")
    return bool(ended)


def sessions_end_others(request: HttpRequest) -> int:
    """End every session of the signed-in user but this one; return how many ended."""
    count = user_sessions_end(user=request.user, keep_session_key=request.session.session_key)
    events.auth_event(request, SESSION_ENDED, outcome="success", scope="others", count=count)
    return count


def account_report_not_me(request: HttpRequest, *, event: LoginEvent) -> None:
    """React to "This wasn't me" on one of the signed-in user's sign-ins.

    Whoever signed in knew the password, so: end every session of the account, this one too (the
    attacker's session is indistinguishable from the user's), forget every remembered device, log
    it, forget what that sign-in taught the risk engine (its browser, address and device cookie are
    strangers again, so the second factor is asked there), and email the user a password reset
    link together with what was done. Nobody is signed in
    afterwards, so the new password is set through the reset link, which proves the mailbox; the
    next sign-in then goes through every stage again, second factor included.
    """
    user = request.user
    sessions = user_sessions_end(user=user)
    devices = trusted_devices_revoke(user=user)
    forgotten = risk_services.login_disowned(event=event)
    events.auth_event(
        request,
        REPORT_NOT_ME,
        outcome="success",
        user_id=user.pk,
        login_event_id=event.pk,
        sessions_ended=sessions,
        devices_revoked=devices,
        values_forgotten=forgotten,
    )
    send_templated_email(
        to=user.email,
        subject="we signed you out everywhere",
        template="emails/not_me.txt",
        context={
            **sign_in_facts(event, when=event.created_at),
            "security_url": absolute_url(reverse("factors:security")),
        },
        link="reset",
        link_name="reset_url",
        user=user,
    )
    # The session row is gone already; logout() also clears the cookie and the request's user.
    auth.logout(request)


# --- New sign-in notification (sent by authsite.center.listeners.NewSignInListener) ------------

# Reasons that say the device or the place is new to this account (new_device and new_network come
# from risk.policy.model_reasons, new_country, unknown_device and trusted_device_mismatch, a
# remembered-device cookie from another browser, from the rule signals).
NEW_DEVICE_REASONS = frozenset({"new_device", "unknown_device", "trusted_device_mismatch"})
NEW_PLACE_REASONS = frozenset({"new_network", "new_country"})


def sign_in_is_new(event: LoginEvent, *, cookie_was_missing: bool) -> bool:
    """Return whether a completed sign-in came from a new device or place, worth an email.

    A browser without our device cookie is a device we have not seen, unless the account has no
    history at all: telling someone about their very first sign-in would only be noise.
    """
    codes = {r.get("code") for r in event.reasons if isinstance(r, dict)}
    if codes & (NEW_DEVICE_REASONS | NEW_PLACE_REASONS):
        return True
    return cookie_was_missing and "first_login" not in codes


def notify_new_sign_in(request: HttpRequest, event: LoginEvent, *, user) -> None:
    """Email ``user`` about a sign-in from a new device or place: when, roughly where, what device."""
    send_templated_email(
        to=user.email,
        subject="new sign-in to your account",
        template="emails/new_sign_in.txt",
        context={
            **sign_in_facts(event, when=event.created_at),
            "security_url": absolute_url(reverse("factors:security")),
            "activity_url": absolute_url(reverse("center:activity")),
        },
    )


# --- Views --------------------------------------------------------------------------------------


@login_required
@require_POST
def session_end_view(request: HttpRequest) -> HttpResponse:
    """End one other session of the signed-in user (named by its public id)."""
    if session_end(request, public_id=request.POST.get("session", "")[:64]):
        messages.success(request, "That session has ended. Its browser will have to sign in again.")
    else:
        messages.error(request, "That session is not active (to end this one, sign out).")
    return redirect(reverse("factors:security") + "#sessions")


@login_required
@require_POST
def sessions_end_others_view(request: HttpRequest) -> HttpResponse:
    """End every session of the signed-in user except the one making the request."""
    count = sessions_end_others(request)
    messages.success(
        request, f"Signed out {count} other session{'s' if count != 1 else ''}." if count else "No other sessions."
    )
    return redirect(reverse("factors:security") + "#sessions")


@never_cache
@login_required
@require_GET
def activity_view(request: HttpRequest) -> HttpResponse:
    """List the user's recent sign-ins: when, where, what device, what we asked for and why."""
    return render(request, "center/activity.html", {"sign_ins": recent_sign_ins(user=request.user)})


@login_required
@require_POST
def not_me_view(request: HttpRequest) -> HttpResponse:
    """Handle "This wasn't me": sign out everywhere, forget devices, mail a reset link.

    Decision: all sessions end, including this one, so the password cannot be changed here
    (that needs a signed-in session). The reset email is sent straight away instead of sending
    the user to the reset form: one click is enough, and the email goes to the account's own
    address, which the user proves they read by using the link. See ``account_report_not_me``.
    """
    pk = parse_id(request.POST.get("event"))
    event = LoginEvent.objects.filter(user=request.user, pk=pk).first() if pk is not None else None
    if event is None:
        messages.error(request, "We couldn't find that sign-in.")
        return redirect("center:activity")
    account_report_not_me(request, event=event)
    return redirect("center:not_me_done")


@never_cache
@require_GET
def not_me_done_view(request: HttpRequest) -> HttpResponse:
    """Tell the user what "This wasn't me" did and what to do next."""
    return render(request, "center/not_me_done.html")


urlpatterns = [
    path("account/security/sessions/end/", session_end_view, name="session_end"),
    path("account/security/sessions/end-others/", sessions_end_others_view, name="sessions_end_others"),
    path("account/activity/", activity_view, name="activity"),
    path("account/activity/not-me/", not_me_view, name="not_me"),
    path("account/activity/not-me/done/", not_me_done_view, name="not_me_done"),
]
