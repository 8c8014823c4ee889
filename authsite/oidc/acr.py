"""The ``acr`` values of the ID token: which level the sign-in reached (README, "Protect your app").

=========  ===================================================  =====================================
acr        the session proved                                    NIST SP 800-63B rev 4
=========  ===================================================  =====================================
password   the password (or nothing more than it)               AAL1
mfa        the password and a second step (app, text message,    AAL2 (an email code is counted as a
           recovery or email code)                              second step here; SP 800-63B does not
                                                                list email as an AAL2 authenticator)
phr        a passkey or security key (phishing-resistant; a     AAL2 with phishing resistance; AAL3
           passkey with user verification, or one after the     only with a hardware-bound key, which
           password)                                            this site does not check
=========  ===================================================  =====================================

``phr`` is the value of the OpenID Foundation's "OpenID Connect Extended Authentication Profile
(EAP) ACR Values 1.0".
"""

from __future__ import annotations

from authsite.login.facts import AuthLevel

PASSWORD = "password"
MFA = "mfa"
PHISHING_RESISTANT = "phr"

ACR_FOR_LEVEL: dict[AuthLevel, str] = {
    AuthLevel.PASSWORD: PASSWORD,
    AuthLevel.MFA: MFA,
    AuthLevel.PHISHING_RESISTANT: PHISHING_RESISTANT,
}
LEVEL_FOR_ACR: dict[str, AuthLevel] = {acr: level for level, acr in ACR_FOR_LEVEL.items()}
# Weakest first, as discovery lists them.
SUPPORTED = [PASSWORD, MFA, PHISHING_RESISTANT]


def level_requested(acr_values: str) -> AuthLevel | None:
    """Return the level an ``acr_values`` parameter asks for, or None when it names none we know.

    The values are alternatives in order of preference, so the least of those we know is what the
    application accepts; values we do not know are ignored (OpenID Connect Core 1.0, 3.1.2.1).
    """
    known = [LEVEL_FOR_ACR[v] for v in acr_values.split() if v in LEVEL_FOR_ACR]
    if not known:
        return None
    return min(known, key=lambda level: level.rank)
