"""The risk engine in the sign-in flow: the risk stage and the login listener.

``RiskStage`` runs after the password (and before ``factors.stages.ChallengeStage``): it builds
the context from the request, assesses it, stores a ``LoginEvent`` and publishes what the challenge
stage must ask for as the pending login's typed facts (``authsite.login.facts``); the user's factors
come from the login framework's inventory, so this app never imports the factors app.
``RiskLoginListener`` counts password failures and, once a sign-in is complete, learns it into the
user's profile, marks the event a success, sets the device cookie and remembers the device when
the user asked.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from authsite.accounts.services import send_templated_email
from authsite.core import clock, events
from authsite.core.clientip import client_ip
from authsite.core.links import absolute_url
from authsite.login import flow
from authsite.login.facts import FactorRequirement, LoginFacts, Requirement, requirement_for_app
from authsite.login.inventory import user_factor_summaries
from authsite.login.listeners import LoginListener
from authsite.login.stages import LoginStage
from authsite.login.state import PendingLogin
from risk import conf, services
from risk.context import LoginContext, context_from_parts, device_digest
from risk.decision import Decision
from risk.device import device_cookie_set, device_id_from_request, new_device_id
from risk.geo import GeoResult
from risk.models import LoginEvent
from risk.notify import sign_in_facts
from risk.policy import Assessment, Reason, reason_texts
from risk.trust import trusted_device_check, trusted_device_remember, trusted_device_touch

logger = logging.getLogger("risk.login")

KEY = "risk"
DENY_MESSAGE = (
    "We couldn't sign you in. If this was you, try again later or from a device you have used "
    "before; we have emailed you about it."
)
ENGINE_ERROR = Reason("engine_error", _("We could not check this sign-in, so we ask for more proof"))


def login_context_build(
    request: HttpRequest, *, user, round_trip_ms: float | None = None, rtt_applicable: bool = True
) -> LoginContext:
    """Build the sign-in context from the request: trusted-proxy client IP, GeoIP, UA, cookies, and
    the round-trip time the sign-in page measured (handed on by the password step)."""
    ip = client_ip(request)
    from risk.blocklist import site_hosting_hit, site_reputation_hit
    from risk.geo import lookup

    check = trusted_device_check(request, user)
    trusted = check.device
    if trusted is not None:
        trusted_device_touch(trusted)
    elif check.mismatch is not None:
        # A live remembered-device cookie of this user from another browser: most likely a copy.
        # It counts for nothing, and admins see it in the event's reasons and in this log line.
        events.auth_event(
            request,
            "risk_trusted_device_mismatch",
            outcome="ignored",
            user_id=user.pk,
            level=logging.WARNING,
            trusted_device_id=check.mismatch.pk,
        )
    geo = lookup(ip)
    return context_from_parts(
        user_id=user.pk,
        ip=ip,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        timestamp=clock.now(),
        geo=geo,
        device_id=device_id_from_request(request),
        trusted_device=trusted is not None,
        trusted_device_mismatch=check.mismatch is not None,
        ip_reputation_hit=site_reputation_hit(ip),
        hosting_listed=site_hosting_hit(ip, geo.asn if geo is not None else None),
        round_trip_ms=round_trip_ms,
        rtt_applicable=rtt_applicable,
    )


def _context_to_state(ctx: LoginContext) -> dict:
    data = asdict(ctx)
    data.pop("device_key", None)
    data["timestamp"] = ctx.timestamp.isoformat()
    return data


def _context_from_state(data: dict) -> LoginContext:
    return context_from_parts(
        user_id=data["user_id"],
        ip=data["ip"],
        user_agent=data.get("user_agent", ""),
        timestamp=datetime.fromisoformat(data["timestamp"]),
        geo=GeoResult(**(data.get("geo") or {})),
        device_id=data.get("device_id"),
        trusted_device=bool(data.get("trusted_device")),
        trusted_device_mismatch=bool(data.get("trusted_device_mismatch")),
        ip_reputation_hit=bool(data.get("ip_reputation_hit")),
        hosting_listed=bool(data.get("hosting_listed")),
        round_trip_ms=data.get("round_trip_ms"),
        rtt_applicable=data.get("rtt_applicable", True) is not False,
    )


def _first_login_rule(assessment: Assessment, *, user, has_factor: bool) -> Assessment:
    """Apply the first-login rule (no history: the model cannot score it, docs/risk-model.md).

    - the user has a factor: ask for it (CHALLENGE), it costs little;
    - no factor and the address was confirmed within ``RISK_FIRST_LOGIN_GRACE_HOURS`` (24): allow,
      because whoever signs in just proved they read the account's mailbox, unless another signal
      fired (automation, spraying, a listed address...): the grace lifts only the first-login
      challenge, never what the rules found;
    - otherwise: the policy's ``RISK_FIRST_LOGIN`` decision (default CHALLENGE, an email code).
    """
    if "first_login" not in assessment.reason_codes or assessment.decision is Decision.DENY:
        return assessment
    if conf.get("RISK_MODE") == "strict":
        return assessment
    grace = timedelta(hours=getattr(settings, "RISK_FIRST_LOGIN_GRACE_HOURS", 24))
    verified = user.email_verified_at
    others = [r for r in assessment.reasons if r.code != "first_login" and r.raises_risk]
    if not has_factor and not others and verified is not None and clock.now() - verified <= grace:
        return Assessment(assessment.score, Decision.ALLOW, assessment.reasons, assessment.breakdown)
    if has_factor:
        return Assessment(
            assessment.score, assessment.decision.at_least(Decision.CHALLENGE), assessment.reasons, assessment.breakdown
        )
    return assessment


def _requirement_for(decision: Decision, kinds: set[str]) -> tuple[Requirement, list[str]]:
    """Map a decision to what the challenge must accept, given the kinds of factor the user has.

    CHALLENGE_STRONG asks for a phishing-resistant factor when the user has one, otherwise the
    strongest non-SMS factor; SMS never satisfies it (nor do recovery codes).
    """
    if decision is not Decision.CHALLENGE_STRONG:
        return Requirement.ANY, []
    if "webauthn" in kinds:
        return Requirement.PHISHING_RESISTANT, []
    if "totp" in kinds:
        return Requirement.STRONG, []
    return Requirement.ANY, ["sms", "recovery"]


def _store_event(
    request: HttpRequest, ctx: LoginContext, assessment: Assessment, *, user, method: str, facts: LoginFacts
) -> LoginEvent:
    score = assessment.score if math.isfinite(assessment.score) else None
    breakdown = {k: v for k, v in (assessment.breakdown or {}).items() if k != "error"}
    return LoginEvent.objects.create(
        created_at=ctx.timestamp,
        user=user,
        ip=ctx.ip,
        asn=ctx.geo.asn,
        network=ctx.network or "",
        network_org=ctx.geo.asn_org or "",
        country=ctx.geo.country or "",
        region=ctx.geo.region or "",
        city=ctx.geo.city or "",
        latitude=ctx.geo.latitude,
        longitude=ctx.geo.longitude,
        user_agent=ctx.user_agent[:512],
        browser=ctx.browser[:128],
        os=ctx.os[:128],
        device_type=ctx.device_type[:16],
        device_key=ctx.device_key or "",
        trusted_device=ctx.trusted_device,
        method=method,
        mode=str(conf.get("RISK_MODE")),
        score=score,
        decision=assessment.decision.value,
        reasons=[r.as_dict() for r in assessment.reasons],
        breakdown=_json_safe(breakdown),
        earlier_sign_ins=breakdown.get("history"),
        round_trip_ms=ctx.round_trip_ms,
        request_id=getattr(request, "request_id", "") or "",
        app=facts.app.app_name[:255] if facts.app is not None else "",
        app_id=facts.app.app_id[:255] if facts.app is not None else "",
    )


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _notify(request: HttpRequest, ctx: LoginContext, *, user, denied: bool) -> None:
    send_templated_email(
        to=user.email,
        subject=_("a sign-in was refused") if denied else _("an unusual sign-in to your account"),
        user=user,
        template="emails/risky_sign_in.txt",
        context={
            "denied": denied,
            **sign_in_facts(ctx, when=ctx.timestamp),
            "reset_url": absolute_url(reverse("password_reset")),
            "security_url": absolute_url(reverse("factors:security")),
            "activity_url": absolute_url(reverse("center:activity")),
        },
    )


class RiskStage(LoginStage):
    """Assess the sign-in and decide what the challenge stage must ask for."""

    key = KEY

    def handle(self, request: HttpRequest, pending: PendingLogin) -> HttpResponse | None:
        user = pending.user()
        facts = pending.facts
        kinds = {f.kind for f in user_factor_summaries(user) if f.usable}
        has_factor = bool(kinds - {"recovery"})
        try:
            # A passkey sign-in posts no form, so nothing measured its round-trip time: the feature
            # is left out rather than counted as missing.
            ctx = login_context_build(
                request, user=user, round_trip_ms=facts.round_trip_ms, rtt_applicable=not facts.passkey_verified
            )
            assessment = services.login_assess(context=ctx)
        except Exception:
            # Fail closed: the strongest check the user has, never a silent allow (docs/house-rules.md, rule 6).
            logger.exception("risk engine failed", extra={"event": "risk_engine_error", "user_id": user.pk})
            ctx = context_from_parts(
                user_id=user.pk,
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
                timestamp=clock.now(),
            )
            assessment = Assessment(math.inf, Decision.CHALLENGE_STRONG, (ENGINE_ERROR,), {})
        if "engine_error" in assessment.reason_codes:
            events.auth_event(request, "risk_engine_error", outcome="fail_closed", user_id=user.pk)
        assessment = _first_login_rule(assessment, user=user, has_factor=has_factor)
        if facts.throttle_unavailable:
            # The password throttle could not be consulted: never let the password suffice.
            assessment = Assessment(
                assessment.score,
                assessment.decision.at_least(Decision.CHALLENGE),
                assessment.reasons,
                assessment.breakdown,
            )
        # A passkey with user verification began this sign-in instead of a password.
        method = LoginEvent.Method.PASSKEY if facts.passkey_verified else LoginEvent.Method.PASSWORD
        if facts.step_up:
            method = LoginEvent.Method.STEP_UP
        event = _store_event(request, ctx, assessment, user=user, method=method, facts=facts)
        events.auth_event(
            request,
            "authn_risk_assessed",
            outcome=assessment.decision.value,
            user_id=user.pk,
            score=event.score,
            reasons=list(assessment.reason_codes),
        )
        facts.event_id = event.pk
        facts.can_remember_device = True
        pending.state_for(KEY)["context"] = _context_to_state(ctx)
        decision = assessment.decision
        if decision is Decision.DENY:
            LoginEvent.objects.filter(pk=event.pk).update(outcome=LoginEvent.Outcome.DENIED)
            events.auth_event(request, "authn_login_denied", outcome="denied", user_id=user.pk)
            _notify(request, ctx, user=user, denied=True)
            return flow.login_abort(request, DENY_MESSAGE)
        # The challenge stage needs the same answer; it is not asked of the database twice.
        facts.has_factor = has_factor
        if decision is Decision.ALLOW:
            # The application's demand is a floor the engine can raise but never lower.
            facts.requirement = requirement_for_app(FactorRequirement(required=False), facts.app)
            return None
        requirement, exclude = _requirement_for(decision, kinds)
        facts.requirement = requirement_for_app(
            FactorRequirement(
                required=True,
                minimum=requirement,
                exclude=tuple(exclude),
                # What made us ask: trust reasons (a known device) are no reason to ask more.
                reasons=tuple(reason_texts(assessment.reasons)[:3]),
            ),
            facts.app,
        )
        if decision is Decision.CHALLENGE_STRONG:
            # Told now, whether or not the second step follows; the same email covers a sign-in
            # that then completes, so that one sends no new-sign-in email as well.
            _notify(request, ctx, user=user, denied=False)
            facts.user_notified = True
        return None


class RiskLoginListener(LoginListener):
    """Count failures; learn completed sign-ins; keep the device cookie and remembered devices."""

    def password_failed(self, request: HttpRequest, *, username: str) -> None:
        user_id = get_user_model()._default_manager.filter(email__iexact=username).values_list("pk", flat=True).first()
        services.login_failed(
            user_id=user_id if user_id is not None else f"unknown:{username}", ip=client_ip(request), at=clock.now()
        )

    def factor_failed(self, request: HttpRequest, *, user) -> None:
        # The password was right: a failed second factor is the stronger sign of a leaked one.
        services.login_failed(user_id=user.pk, ip=client_ip(request), at=clock.now())

    def login_succeeded(self, request: HttpRequest, response: HttpResponse, *, user, pending: PendingLogin) -> None:
        data = pending.state_for(KEY).get("context")
        device_id = device_id_from_request(request)
        if device_id is None:
            device_id = new_device_id()
            device_cookie_set(response, device_id)
        if data is None:
            return
        data = {**data, "device_id": data.get("device_id") or device_id}
        ctx = _context_from_state(data)
        try:
            services.login_succeeded(context=ctx)
        except Exception:
            # Learning is best effort (a cache or database hiccup): the sign-in itself is complete,
            # and its event, notification and remembered device must still be recorded.
            logger.exception("risk profile update failed", extra={"event": "risk_engine_error", "user_id": user.pk})
        # The device key is the cookie the sign-in ends with (a first visit gets one only now): it is
        # what was learned, and what "This wasn't me" must forget.
        LoginEvent.objects.filter(pk=pending.facts.event_id).update(
            outcome=LoginEvent.Outcome.SUCCESS,
            factor=pending.facts.factor_kind[:16],
            device_key=device_digest(data["device_id"]),
        )
        requirement = pending.facts.requirement
        if pending.facts.remember_device and requirement is not None and requirement.required:
            label = " on ".join(p for p in (ctx.browser, ctx.os) if p) or "Browser"
            where = ", ".join(p for p in (ctx.geo.city, ctx.geo.country) if p)
            trusted_device_remember(
                response,
                user=user,
                label=f"{label} ({where})" if where else label,
                user_agent=ctx.user_agent,
                device_id=ctx.device_id,
            )
