"""WebAuthn ceremonies around fido2 2.x ``Fido2Server``, with what the demo server skips.

Four functions: ``register_begin``/``register_complete`` and ``authenticate_begin``/
``authenticate_complete``. ``*_begin`` returns ``(options, state)``: send ``options`` (JSON-ready)
to the browser, keep ``state`` in the session, and pop it (``request.session.pop(...)``) to pass
to ``*_complete``. Besides that, each challenge is recorded as spent in the cache on completion,
so a state replayed by a careless caller still fails, and state expires after
``FACTORS_WEBAUTHN_TIMEOUT_SECONDS``.

Passkeys (usernameless, ``user=None``) require user verification; the UV flag of each assertion
is returned: a passkey assertion with UV is two factors (possession + PIN/biometric), without UV
only one. Security keys as a second factor after a password ask for UV "discouraged".

fido2 neither checks nor stores the signature counter; ``authenticate_complete`` does, under a
row lock: a non-zero counter that does not increase is refused and logged (a cloned key).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from fido2.server import Fido2Server
from fido2.utils import websafe_encode
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authsite.core import clock
from factors import seams
from factors.conf import factors_settings
from factors.models import WebAuthnCredential, WebAuthnUserHandle

logger = logging.getLogger(__name__)

CHALLENGE_BYTES = 32


class WebAuthnError(Exception):
    """A ceremony failed. ``reason`` is for logs; show users a generic message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Purpose(enum.StrEnum):
    REGISTER = "register"
    AUTHENTICATE = "authenticate"


@dataclass(frozen=True)
class AuthenticationResult:
    """A verified assertion."""

    credential: WebAuthnCredential
    user_verified: bool

    @property
    def user(self):
        return self.credential.user

    @property
    def factor_count(self) -> int:
        """Two factors for an assertion with user verification, one without."""
        return 2 if self.user_verified else 1


def server() -> Fido2Server:
    """Return a Fido2Server for the configured relying party and allowed origins."""
    origins = frozenset(factors_settings.WEBAUTHN_ORIGINS)
    rp = PublicKeyCredentialRpEntity(name=factors_settings.WEBAUTHN_RP_NAME, id=factors_settings.WEBAUTHN_RP_ID)
    # Exact origins from settings, not "any subdomain of the RP ID" (fido2's default).
    return Fido2Server(rp, verify_origin=lambda origin: origin in origins)


def user_handle(user) -> bytes:
    """Return the user's stable random WebAuthn user handle, creating it on first use."""
    existing = WebAuthnUserHandle.objects.filter(user=user).values_list("handle", flat=True).first()
    if existing is not None:
        return bytes(existing)
    try:
        with transaction.atomic():
            return bytes(WebAuthnUserHandle.objects.create(user=user, handle=seams.token_bytes(64)).handle)
    except IntegrityError:  # created by a parallel request
        return bytes(WebAuthnUserHandle.objects.get(user=user).handle)


def _descriptors(credentials) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            type=PublicKeyCredentialType.PUBLIC_KEY,
            id=bytes(c.credential_id),
            transports=c.transports or None,
        )
        for c in credentials
    ]


def _wrap_state(state: Mapping[str, Any], *, purpose: Purpose, user_id: int | None, passkey: bool) -> dict:
    return {
        **state,
        "purpose": str(purpose),
        "user_id": user_id,
        "passkey": passkey,
        "expires": int(clock.now().timestamp()) + int(factors_settings.WEBAUTHN_TIMEOUT_SECONDS),
    }


def _spend_state(state: Mapping[str, Any] | None, *, purpose: Purpose) -> None:
    """Check the state's purpose and age and mark its challenge spent (single use)."""
    if not state or state.get("purpose") != purpose or "challenge" not in state:
        raise WebAuthnError("missing or foreign state")
    if int(state.get("expires", 0)) < int(clock.now().timestamp()):
        raise WebAuthnError("state expired")
    timeout = int(factors_settings.WEBAUTHN_TIMEOUT_SECONDS) + 60
    # cache.add is atomic: only the first completion of a challenge gets through.
    if not cache.add(f"factors:webauthn:spent:{state['challenge']}", 1, timeout):
        raise WebAuthnError("challenge already used")


def register_begin(*, user, passkey: bool) -> tuple[dict, dict]:
    """Start registering a passkey (``passkey=True``) or a second-factor security key.

    Returns ``(options, state)``; ``options`` is JSON-ready (``{"publicKey": {...}}``).
    """
    existing = WebAuthnCredential.objects.filter(user=user)
    options, state = server().register_begin(
        PublicKeyCredentialUserEntity(id=user_handle(user), name=user.get_username(), display_name=user.get_username()),
        credentials=_descriptors(existing),
        resident_key_requirement=(ResidentKeyRequirement.REQUIRED if passkey else ResidentKeyRequirement.DISCOURAGED),
        user_verification=(
            UserVerificationRequirement.REQUIRED if passkey else UserVerificationRequirement.DISCOURAGED
        ),
        challenge=seams.token_bytes(CHALLENGE_BYTES),
    )
    return dict(options), _wrap_state(state, purpose=Purpose.REGISTER, user_id=user.pk, passkey=passkey)


def register_complete(*, user, state: Mapping[str, Any], response: Mapping[str, Any], name: str) -> WebAuthnCredential:
    """Verify the browser's registration response and store the credential."""
    _spend_state(state, purpose=Purpose.REGISTER)
    if state.get("user_id") != user.pk:
        raise WebAuthnError("state belongs to another user")
    try:
        auth_data = server().register_complete(state, response)
        registration = RegistrationResponse.from_dict(response)
    except (ValueError, KeyError, TypeError) as exc:
        raise WebAuthnError(f"registration rejected: {exc}") from exc
    credential_data = auth_data.credential_data
    if credential_data is None:
        raise WebAuthnError("no credential data")
    transports = []
    raw = response.get("response", {}) if isinstance(response, Mapping) else {}
    if isinstance(raw, Mapping) and isinstance(raw.get("transports"), list):
        transports = [str(t) for t in raw["transports"]][:8]
    cred_props = registration.client_extension_results.get("credProps") or {}
    discoverable = bool(state.get("passkey")) or bool(cred_props.get("rk"))
    try:
        with transaction.atomic():
            return WebAuthnCredential.objects.create(
                user=user,
                name=(name or "Security key")[:64],
                credential_id=bytes(credential_data.credential_id),
                credential_data=bytes(credential_data),
                sign_count=auth_data.counter,
                discoverable=discoverable,
                user_verified_at_registration=auth_data.is_user_verified(),
                transports=transports,
                confirmed=True,
            )
    except IntegrityError as exc:
        raise WebAuthnError("credential already registered") from exc


def authenticate_begin(*, user=None) -> tuple[dict, dict]:
    """Start an assertion: usernameless passkey (``user=None``, UV required) or second factor."""
    if user is None:
        credentials = None
        uv = UserVerificationRequirement.REQUIRED
    else:
        credentials = _descriptors(WebAuthnCredential.objects.filter(user=user, confirmed=True))
        if not credentials:
            raise WebAuthnError("user has no credentials")
        uv = UserVerificationRequirement.DISCOURAGED
    options, state = server().authenticate_begin(
        credentials, user_verification=uv, challenge=seams.token_bytes(CHALLENGE_BYTES)
    )
    return dict(options), _wrap_state(
        state, purpose=Purpose.AUTHENTICATE, user_id=user.pk if user else None, passkey=user is None
    )


def authenticate_complete(*, state: Mapping[str, Any], response: Mapping[str, Any], user=None) -> AuthenticationResult:
    """Verify an assertion; check and store the signature counter; return who and whether UV."""
    _spend_state(state, purpose=Purpose.AUTHENTICATE)
    expected_user_id = state.get("user_id")
    if user is not None and expected_user_id != user.pk:
        raise WebAuthnError("state belongs to another user")
    try:
        parsed = AuthenticationResponse.from_dict(response)
    except (ValueError, KeyError, TypeError) as exc:
        raise WebAuthnError(f"malformed assertion: {exc}") from exc
    with transaction.atomic():
        qs = WebAuthnCredential.objects.select_for_update().select_related("user")
        credential = qs.filter(credential_id=bytes(parsed.raw_id), confirmed=True).first()
        if credential is None:
            raise WebAuthnError("unknown credential")
        if expected_user_id is not None and credential.user_id != expected_user_id:
            raise WebAuthnError("credential of another user")
        if not credential.user.is_active:
            raise WebAuthnError("inactive user")
        handle = parsed.response.user_handle
        if handle is not None and handle != user_handle(credential.user):
            raise WebAuthnError("user handle does not match the credential")
        if expected_user_id is None and not credential.discoverable:
            # Usernameless sign-in only with credentials registered as passkeys.
            raise WebAuthnError("not a passkey")
        try:
            server().authenticate_complete(state, [AttestedCredentialData(bytes(credential.credential_data))], response)
        except ValueError as exc:
            raise WebAuthnError(f"assertion rejected: {exc}") from exc
        auth_data = parsed.response.authenticator_data
        new_count = auth_data.counter
        if (new_count or credential.sign_count) and new_count <= credential.sign_count:
            # Possibly a cloned authenticator (WebAuthn §6.1.1): refuse and leave a trace.
            logger.warning(
                "webauthn sign count did not increase",
                extra={
                    "event": "authn_token_reuse",
                    "user_id": credential.user_id,
                    "credential": websafe_encode(bytes(credential.credential_id))[:16],
                    "stored": credential.sign_count,
                    "received": new_count,
                },
            )
            raise WebAuthnError("sign count did not increase")
        credential.sign_count = new_count
        credential.last_used_at = clock.now()
        credential.save(update_fields=["sign_count", "last_used_at"])
    return AuthenticationResult(credential=credential, user_verified=auth_data.is_user_verified())
