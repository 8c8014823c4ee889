"""A software WebAuthn authenticator for tests: an ES256 key that signs like a real one.

It builds attestation objects ("none" format) and assertions (authenticatorData signed together
with the SHA-256 of clientDataJSON) as a browser would deliver them, so the server code is
exercised end to end without a browser.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

FLAG = AuthenticatorData.FLAG


class SoftAuthenticator:
    def __init__(self, *, rp_id: str = "localhost", origin: str = "http://localhost:8000") -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.counter = 0
        self.user_handle: bytes | None = None

    def _rp_hash(self) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest()

    def register(self, options: dict, *, uv: bool = True, origin: str | None = None) -> dict:
        public_key = options["publicKey"]
        self.user_handle = websafe_decode(public_key["user"]["id"])
        credential_data = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        flags = FLAG.UP | FLAG.AT | (FLAG.UV if uv else 0)
        auth_data = AuthenticatorData.create(self._rp_hash(), flags, self.counter, credential_data)
        attestation = AttestationObject.create("none", auth_data, {})
        client_data = CollectedClientData.create("webauthn.create", public_key["challenge"], origin or self.origin)
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(attestation),
                "transports": ["usb", "nfc"],
            },
            "clientExtensionResults": {},
        }

    def assertion(self, options: dict, *, uv: bool = True, counter_step: int = 1, origin: str | None = None) -> dict:
        self.counter += counter_step
        auth_data = AuthenticatorData.create(self._rp_hash(), FLAG.UP | (FLAG.UV if uv else 0), self.counter)
        client_data = CollectedClientData.create(
            "webauthn.get", options["publicKey"]["challenge"], origin or self.origin
        )
        signature = self.key.sign(auth_data + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": websafe_encode(self.user_handle) if self.user_handle else None,
            },
            "clientExtensionResults": {},
        }
