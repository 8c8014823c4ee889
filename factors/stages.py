"""The second-factor stages of the staged login: the challenge, then enrollment when it is required."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from authsite.core import clock, events
from authsite.login import flow
from authsite.login.facts import AuthLevel, FactorRequirement, Requirement, requirement_for_app
from authsite.login.stages import LoginStage
from authsite.login.state import PendingLogin
from factors.registry import satisfies
from factors.services import factor_account_email_device, user_factor_summaries, user_has_factor

KEY = "challenge"
ENROLL_KEY = "enrol"
UNMET_MESSAGE = _(
    "%(app)s needs a sign-in with a passkey or security key, and your account has none. Sign in here, "
    "add a passkey on your Security page, then go back to %(app)s and try again."
)


class ChallengeStage(LoginStage):
    """Ask for a second factor when the login needs one.

    What is needed comes from the pending login's facts, which earlier stages (the risk engine)
    publish: ``requirement`` (a ``FactorRequirement``) and ``has_factor``. Without them the rule is
    plain MFA: a user with a factor is asked for it at every sign-in, a user without one is not.
    A cache outage at the password step (``throttle_unavailable``) always asks. A user without a
    factor who is asked gets a code at the confirmed account address.

    A user who must set up a new factor (``mfa_enrol_required_at``) is always asked, for one of
    their factors or else a code sent to the account address: whoever binds the next factor to the
    account must prove more than the password, or a leaked password would win a race against the
    owner after an admin reset.
    """

    key = KEY

    def handle(self, request: HttpRequest, pending: PendingLogin) -> HttpResponse | None:
        facts = pending.facts
        if facts.passkey_verified:
            # A passkey assertion with user verification is two factors by itself.
            return None
        user = pending.user()
        has_factor = facts.has_factor
        if has_factor is None:  # no earlier stage looked
            has_factor = user_has_factor(user)
        requirement = facts.requirement
        if facts.app is not None:
            # What the application asks is a floor, whether or not an earlier stage decided.
            requirement = requirement_for_app(requirement or FactorRequirement(required=has_factor), facts.app)
            if facts.app.level is AuthLevel.PHISHING_RESISTANT and not _can_meet(user, requirement):
                # Never a weaker sign-in for this app: the user is told what to add instead.
                events.auth_event(
                    request, events.MFA_FAIL, outcome="unmet_app_requirement", user_id=user.pk, app=facts.app.app_id
                )
                return flow.login_abort(request, UNMET_MESSAGE % {"app": facts.app.app_name})
        required = requirement.required if requirement is not None else has_factor
        if facts.throttle_unavailable and has_factor:
            required = True
        if user.mfa_enrol_required_at is not None and not required:
            required = True
        if required and not has_factor:
            # A user without a factor is asked for a code sent to the confirmed account address.
            factor_account_email_device(user=user)
        if not required:
            if not has_factor and user.last_login is None and not pending.next_url:
                # First sign-in after sign-up: offer to add a factor (skippable).
                pending.next_url = reverse("factors:setup")
            return None
        state = pending.state_for(self.key)
        state["minimum"] = str(requirement.minimum if requirement is not None else Requirement.ANY)
        state["exclude"] = list(requirement.exclude) if requirement is not None else []
        state["reasons"] = list(requirement.reasons) if requirement is not None else []
        return redirect("factors:challenge")


def _can_meet(user, requirement: FactorRequirement) -> bool:
    """Tell whether the user has a usable factor that satisfies ``requirement``."""
    return any(
        f.usable and f.kind not in requirement.exclude and satisfies(f.kind, requirement.minimum)
        for f in user_factor_summaries(user)
    )


class EnrolStage(LoginStage):
    """Stop the sign-in until the user sets up a new factor, when the account requires one.

    Runs after the challenge. The flag (``User.mfa_enrol_required_at``) is set by an admin's MFA
    reset or "require a new sign-in method" and cleared only in the transaction that confirms a new
    authenticator app, passkey or security key; until then no stage order, abandoned page or expired
    pending login gets the user a session.
    """

    key = ENROLL_KEY

    def handle(self, request: HttpRequest, pending: PendingLogin) -> HttpResponse | None:
        user = pending.user()
        if user.mfa_enrol_required_at is None:
            return None
        state = pending.state_for(self.key)
        if not state.get("logged"):
            state["logged"] = True
            # Installing an app can take longer than the rest of a sign-in: the pending login's
            # time starts again, once, when enrollment begins (password and factor are passed).
            pending.started_at = clock.timestamp()
            events.auth_event(request, events.MFA_ENROLL_REQUIRED, outcome="required", user_id=user.pk)
        return redirect("factors:enroll")
