"""What one stage of a sign-in tells the later ones: named, typed fields (docs/architecture.md).

A stage keeps its own working state under its key (``PendingLogin.state_for``); what another stage
or a listener needs, it publishes here. Nothing else passes between stages, so the contract
between the apps is this class. The facts travel in the session as JSON values; ``from_json``
refuses what it does not know, and the pending login is then treated as absent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext

from authsite.core.parsing import parse_round_trip_ms


class Requirement(enum.StrEnum):
    """How strong the second step of a sign-in must be."""

    ANY = "any"
    STRONG = "strong"
    PHISHING_RESISTANT = "phishing_resistant"


class AuthLevel(enum.StrEnum):
    """How strongly a sign-in proved who it is, weakest first (named by ``acr`` values elsewhere)."""

    PASSWORD = "password"
    MFA = "mfa"
    PHISHING_RESISTANT = "phishing_resistant"

    @property
    def rank(self) -> int:
        return list(AuthLevel).index(self)

    def at_least(self, other: AuthLevel) -> AuthLevel:
        """Return the stronger of the two levels."""
        return self if self.rank >= other.rank else other


@dataclass(frozen=True)
class AppRequest:
    """Which application a sign-in is for and the least it must prove (set before the password).

    ``level`` already combines what the application asked with the policy it is registered with;
    ``fresh_after`` (a timestamp, or None) says that a session signed in before it does not count,
    so the user must sign in again (OpenID Connect ``prompt=login`` and ``max_age``).
    """

    app_id: str
    app_name: str
    level: AuthLevel = AuthLevel.PASSWORD
    fresh_after: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "app_name": self.app_name,
            "level": str(self.level),
            "fresh_after": self.fresh_after,
        }

    @classmethod
    def from_json(cls, data: Any) -> AppRequest:
        if not isinstance(data, dict) or set(data) != {"app_id", "app_name", "level", "fresh_after"}:
            raise ValueError("not an application request of this version")
        fresh_after = data["fresh_after"]
        if fresh_after is not None and type(fresh_after) not in (int, float):
            raise ValueError("fresh_after")
        return cls(
            app_id=_string(data["app_id"]),
            app_name=_string(data["app_name"]),
            level=AuthLevel(data["level"]),
            fresh_after=fresh_after,
        )


@dataclass(frozen=True)
class FactorProof:
    """What a verified factor proved, as the app that owns the factor describes it.

    ``methods`` are RFC 8176 authentication method reference values (``otp``, ``sms``, ``hwk``,
    ``user``...); ``meets`` is the strongest ``Requirement`` the factor satisfies.
    """

    methods: tuple[str, ...]
    meets: Requirement

    def to_json(self) -> dict[str, Any]:
        return {"methods": list(self.methods), "meets": str(self.meets)}

    @classmethod
    def from_json(cls, data: Any) -> FactorProof:
        if not isinstance(data, dict) or set(data) != {"methods", "meets"}:
            raise ValueError("not a factor proof of this version")
        return cls(methods=_strings(data["methods"]), meets=Requirement(data["meets"]))


LEVEL_FOR_REQUIREMENT = {
    Requirement.ANY: AuthLevel.MFA,
    Requirement.STRONG: AuthLevel.MFA,
    Requirement.PHISHING_RESISTANT: AuthLevel.PHISHING_RESISTANT,
}


@dataclass(frozen=True)
class FactorRequirement:
    """Whether the sign-in needs a second step, how strong, which kinds do not count, and why."""

    required: bool
    minimum: Requirement = Requirement.ANY
    # Kinds of factor that do not count for this sign-in (e.g. text messages for a strong one).
    exclude: tuple[str, ...] = ()
    # Why the second step is asked, in plain words for the challenge page.
    reasons: tuple[str, ...] = ()

    def raised_to(self, level: AuthLevel) -> FactorRequirement:
        """Return this requirement, raised so that passing it reaches at least ``level``.

        An application's demand is a floor: it can make the second step required or stronger,
        never optional or weaker.
        """
        if level is AuthLevel.PASSWORD:
            return self
        minimum = self.minimum
        reasons = self.reasons
        if level is AuthLevel.PHISHING_RESISTANT and minimum is not Requirement.PHISHING_RESISTANT:
            minimum = Requirement.PHISHING_RESISTANT
        return FactorRequirement(required=True, minimum=minimum, exclude=self.exclude, reasons=reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "minimum": str(self.minimum),
            "exclude": list(self.exclude),
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FactorRequirement:
        return cls(
            required=_bool(data["required"]),
            minimum=Requirement(data["minimum"]),
            exclude=_strings(data["exclude"]),
            reasons=_strings(data["reasons"]),
        )


def requirement_for_app(requirement: FactorRequirement, app: AppRequest | None) -> FactorRequirement:
    """Return ``requirement`` raised to what the application the sign-in is for demands.

    When the application asks for more than the password, the reasons say so.
    """
    if app is None or app.level is AuthLevel.PASSWORD:
        return requirement
    raised = requirement.raised_to(app.level)
    # Written in the language of the request, as the page that shows it is.
    if app.level is AuthLevel.PHISHING_RESISTANT:
        reason = gettext("%(app)s asks for a passkey or security key") % {"app": app.app_name}
    else:
        reason = gettext("%(app)s asks for a second step") % {"app": app.app_name}
    return FactorRequirement(
        required=raised.required,
        minimum=raised.minimum,
        exclude=raised.exclude,
        reasons=raised.reasons if reason in raised.reasons else (reason, *raised.reasons),
    )


@dataclass
class LoginFacts:
    """The facts of one sign-in, each set by the stage that finds it out and read by later ones."""

    # The password step: the password throttle could not be consulted (a cache outage), so the
    # password alone must not be enough.
    throttle_unavailable: bool = False
    # The password step: the round-trip time the sign-in page measured (milliseconds; None when
    # absent or absurd).
    round_trip_ms: float | None = None
    # The passkey sign-in: a passkey with user verification began it, both factors at once.
    passkey_verified: bool = False
    # The stage that assessed the attempt (the risk stage): whether the user has a second factor
    # (None: nobody looked), what the second step must be (None: no stage decided, so plain MFA
    # applies: a user with a factor is asked for it), the stored record of the attempt, whether the
    # user was emailed about it already, and whether the device may be remembered after a second step.
    has_factor: bool | None = None
    requirement: FactorRequirement | None = None
    event_id: int | None = None
    user_notified: bool = False
    can_remember_device: bool = False
    # The challenge stage (or the passkey sign-in): the kind of factor that passed, and whether
    # the user asked to remember this device.
    factor_kind: str = ""
    remember_device: bool = False
    # The login framework, from the session: the application this sign-in is for (None: the site
    # itself), and whether this is a step-up of a session that is already signed in (no password).
    app: AppRequest | None = None
    step_up: bool = False
    # The app that verified a factor (challenge page, passkey sign-in): what the factor proved.
    factor_proof: FactorProof | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "throttle_unavailable": self.throttle_unavailable,
            "round_trip_ms": self.round_trip_ms,
            "passkey_verified": self.passkey_verified,
            "has_factor": self.has_factor,
            "requirement": self.requirement.to_json() if self.requirement is not None else None,
            "event_id": self.event_id,
            "user_notified": self.user_notified,
            "can_remember_device": self.can_remember_device,
            "factor_kind": self.factor_kind,
            "remember_device": self.remember_device,
            "app": self.app.to_json() if self.app is not None else None,
            "step_up": self.step_up,
            "factor_proof": self.factor_proof.to_json() if self.factor_proof is not None else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> LoginFacts:
        """Read facts written by ``to_json``; raise ``ValueError`` on anything else."""
        if not isinstance(data, dict) or set(data) != set(cls().to_json()):
            raise ValueError("not the login facts of this version")
        try:
            requirement = data["requirement"]
            event_id = data["event_id"]
            has_factor = data["has_factor"]
            app = data["app"]
            factor_proof = data["factor_proof"]
            round_trip_ms = data["round_trip_ms"]
            if round_trip_ms is not None and parse_round_trip_ms(round_trip_ms) is None:
                raise ValueError("round_trip_ms")
            if event_id is not None and (type(event_id) is not int):
                raise ValueError("event_id")
            return cls(
                throttle_unavailable=_bool(data["throttle_unavailable"]),
                round_trip_ms=None if round_trip_ms is None else float(round_trip_ms),
                passkey_verified=_bool(data["passkey_verified"]),
                has_factor=None if has_factor is None else _bool(has_factor),
                requirement=None if requirement is None else FactorRequirement.from_json(requirement),
                event_id=event_id,
                user_notified=_bool(data["user_notified"]),
                can_remember_device=_bool(data["can_remember_device"]),
                factor_kind=_string(data["factor_kind"]),
                remember_device=_bool(data["remember_device"]),
                app=None if app is None else AppRequest.from_json(app),
                step_up=_bool(data["step_up"]),
                factor_proof=None if factor_proof is None else FactorProof.from_json(factor_proof),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(str(exc)) from exc


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError(f"expected a boolean, got {value!r}")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return tuple(_string(v) for v in value)
