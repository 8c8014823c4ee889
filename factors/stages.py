"""The second-factor stage of the staged login."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from authsite.login.stages import LoginStage
from authsite.login.state import PendingLogin
from factors.registry import Requirement
from factors.services import user_has_factor

KEY = "challenge"


class ChallengeStage(LoginStage):
    """Ask for a second factor when the login needs one.

    What is needed comes from the pending login's flags, which earlier stages (the risk engine)
    set: ``require_factor`` (bool) and ``factor_requirement`` (a ``Requirement``). Without them the
    rule is plain MFA: a user with a factor is asked for it at every sign-in, a user without one
    is not. A cache outage at the password step (``throttle_unavailable``) always asks.
    """

    key = KEY

    def handle(self, request: HttpRequest, pending: PendingLogin) -> HttpResponse | None:
        if pending.flags.get("passkey_uv"):
            # A passkey assertion with user verification is two factors by itself.
            return None
        user = get_user_model()._default_manager.get(pk=pending.user_id)
        has_factor = user_has_factor(user)
        required = pending.flags.get("require_factor")
        if required is None:
            required = has_factor
        if pending.flags.get("throttle_unavailable") and has_factor:
            required = True
        if not required:
            if not has_factor and user.last_login is None and not pending.next_url:
                # First sign-in after sign-up: offer to add a factor (skippable).
                pending.next_url = reverse("factors:setup")
            return None
        state = pending.state_for(self.key)
        state["minimum"] = str(Requirement(pending.flags.get("factor_requirement", Requirement.ANY)))
        return redirect("factors:challenge")
