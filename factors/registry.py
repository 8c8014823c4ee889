"""The factor types, their strength, and which requirement each one satisfies.

Strength ranks the kinds for display (strongest first) and for the risk policy:

=====================  ========  ==================================================================
kind                   strength  why
=====================  ========  ==================================================================
webauthn               50        phishing-resistant: the signature is bound to the origin.
totp                   40        "app": a shared secret on a device; phishable but not
                                 interceptable in transit like SMS.
sms                    30        "restricted" (NIST SP 800-63B §3.1.3.3): SIM swap, SS7 and
                                 pumping; allowed, never for a strong requirement.
email                  20        the mailbox is often the same account that resets the password.
recovery               10        a recovery path, not a daily factor: listed last, satisfies only
                                 ``Requirement.ANY`` (so a user who lost their device can still
                                 finish an ordinary challenge), never STRONG or PHISHING_RESISTANT;
                                 using one should notify the user (the caller does that).
=====================  ========  ==================================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

# What a sign-in asks of its second step is a fact of the login framework, set by any stage.
from authsite.login.facts import FactorProof, Requirement


class Strength(enum.IntEnum):
    """How much a verified factor of a kind is worth; higher is stronger."""

    RECOVERY = 10
    EMAIL = 20
    RESTRICTED = 30
    APP = 40
    PHISHING_RESISTANT = 50


@dataclass(frozen=True)
class FactorType:
    """One kind of factor."""

    kind: str
    label: str  # as a heading or badge: "Authenticator app"
    strength: Strength
    satisfies: frozenset[Requirement]
    in_sentence: str  # lower case, within a sentence: "(confirmed with authenticator app)"
    # RFC 8176 authentication method reference values a verified factor of this kind stands for.
    amr: tuple[str, ...] = ()


FACTOR_TYPES: dict[str, FactorType] = {
    t.kind: t
    for t in (
        FactorType(
            "webauthn",
            "Security key or passkey",
            Strength.PHISHING_RESISTANT,
            frozenset(Requirement),
            "passkey or security key",
            # "hwk": proof of possession of a key held by an authenticator; "user" is added when
            # the authenticator verified the user (PIN or biometrics), see factor_proof().
            ("hwk",),
        ),
        FactorType(
            "totp",
            "Authenticator app",
            Strength.APP,
            frozenset({Requirement.ANY, Requirement.STRONG}),
            "authenticator app",
            ("otp",),
        ),
        FactorType("sms", "Text message", Strength.RESTRICTED, frozenset({Requirement.ANY}), "text message", ("sms",)),
        # RFC 8176 has no value for a code sent by email or a printed recovery code; both are
        # one-time codes, so "otp" is the nearest honest value.
        FactorType("email", "Email code", Strength.EMAIL, frozenset({Requirement.ANY}), "email code", ("otp",)),
        FactorType(
            "recovery", "Recovery code", Strength.RECOVERY, frozenset({Requirement.ANY}), "recovery code", ("otp",)
        ),
    )
}


def kind_of(device_or_kind: Any) -> str:
    """Return the factor kind of a device instance, device class or kind string."""
    if isinstance(device_or_kind, str):
        return device_or_kind
    return device_or_kind.factor_kind


def factor_type(device_or_kind: Any) -> FactorType:
    """Return the FactorType of a device or kind (KeyError for an unknown kind)."""
    return FACTOR_TYPES[kind_of(device_or_kind)]


def strength(device_or_kind: Any) -> Strength:
    """Return the strength of a device or kind."""
    return factor_type(device_or_kind).strength


def satisfies(device_or_kind: Any, minimum: Requirement | Strength | str) -> bool:
    """Tell whether a verified factor of this kind meets ``minimum``.

    ``minimum`` is a Requirement (what the risk policy asks) or a Strength (at least this strong).
    SMS, email and recovery codes never satisfy ``STRONG`` (nor ``Strength.APP``); only WebAuthn
    satisfies ``PHISHING_RESISTANT``.
    """
    if isinstance(minimum, Strength):
        return strength(device_or_kind) >= minimum
    return Requirement(minimum) in factor_type(device_or_kind).satisfies


def factor_proof(device_or_kind: Any, *, user_verified: bool = False) -> FactorProof:
    """Describe, for the login framework, what verifying this factor proved.

    ``user_verified``: a WebAuthn assertion with the user-verified flag (a PIN or biometrics on the
    authenticator), RFC 8176 ``user``.
    """
    kind = factor_type(device_or_kind)
    meets = next(r for r in reversed(Requirement) if r in kind.satisfies)
    methods = kind.amr + (("user",) if user_verified and kind.kind == "webauthn" else ())
    return FactorProof(methods=methods, meets=meets)


def sort_key(device: Any) -> tuple[int, int]:
    """Key for sorting devices strongest first (then preferred first)."""
    return (-int(strength(device)), 0 if getattr(device, "preferred", False) else 1)


# Never-used factors in the order they are likely to work in whatever browser the user is in: an
# app code can be typed anywhere, a security key or passkey needs the authenticator at hand (a
# passkey is often kept on another device), a text or email needs the message to arrive.
_ANYWHERE_RANK = {"totp": 0, "webauthn": 1, "sms": 2, "email": 3}


def offer_key(device: Any) -> tuple:
    """Key for the order a challenge offers factors in: the one most likely to work here first.

    1. The user's preferred factor: they chose it.
    2. The others that have been used, the most recently used first: the user had it at hand last
       time, and a passkey that worked before is likely in this browser or its account.
    3. Never-used factors: an authenticator app before a security key or passkey (which this
       browser may not hold), then text, then email.
    Recovery codes always come last, even if used last time: they are the way back in.
    """
    recovery = kind_of(device) == "recovery"
    used = getattr(device, "last_used_at", None)
    return (
        recovery,
        not getattr(device, "preferred", False),
        used is None,
        -used.timestamp() if used is not None else 0.0,
        _ANYWHERE_RANK.get(kind_of(device), len(_ANYWHERE_RANK)),
    )
