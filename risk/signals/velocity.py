"""Failure velocity: guessing against one account, many failures from one IP, password spraying."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from risk import conf
from risk.decision import Decision
from risk.signals import Signal, SignalResult


class FailureVelocitySignal(Signal):
    """Recent failures (counted by a :mod:`risk.velocity` store) raise the risk.

    Several conditions can hold at once; the strongest one is reported and their weights add.
    """

    code = "failure_velocity"

    def evaluate(self, ctx, snap, velocity):
        if velocity is None or not (velocity.account_failures or velocity.ip_failures or velocity.account_consecutive):
            return None
        limits = conf.current().velocity
        weight, floor, codes = 0.0, None, []
        if velocity.account_consecutive >= limits["ACCOUNT_MAX_FAILURES"]:
            # NIST SP 800-63B: at most 100 consecutive failed attempts on one account.
            return SignalResult(
                "account_failure_limit", 10.0, _("Too many failed sign-ins to this account"), floor=Decision.DENY
            )
        if velocity.account_failures >= limits["ACCOUNT_FAILURES"]:
            weight += 1.5
            codes.append("account_failures")
        if velocity.ip_accounts >= limits["SPRAY_ACCOUNTS"]:
            weight += 4.0
            floor = Decision.CHALLENGE_STRONG
            codes.append("password_spraying")
        elif velocity.ip_failures >= limits["IP_FAILURES"]:
            weight += 2.0
            floor = Decision.CHALLENGE
            codes.append("ip_failures")
        if not codes:
            return None
        texts = {
            "account_failures": _("There were several failed sign-ins to this account"),
            "password_spraying": _("Many accounts failed to sign in from this network address"),
            "ip_failures": _("Many sign-ins failed from this network address"),
        }
        return SignalResult(codes[-1], weight, texts[codes[-1]], floor=floor)
