"""django-oauth-toolkit's request validator, with the claims that tell what the sign-in proved.

The authorize view hands the session's proof (``authsite.login.proof.SessionProof``) and ``sid``
to the code it issues (``GrantProof``); the ID token's ``auth_time``, ``amr`` and ``acr`` come from
there, never from what the application asked. ID tokens are signed by ``authsite.oidc.keys``.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import transaction
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from authsite.core import clock
from authsite.login.facts import AuthLevel
from authsite.oidc import acr, keys, services
from authsite.oidc.models import GrantProof, UsedCode

logger = logging.getLogger("authsite.oidc")


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


class Validator(OAuth2Validator):
    def get_additional_claims(self, request) -> dict:
        return {
            "email": lambda r: r.user.email,
            "email_verified": lambda r: r.user.email_verified_at is not None,
        }

    def get_claim_dict(self, request) -> dict:
        claims = super().get_claim_dict(request)
        claims["sub"] = lambda r: services.subject_for(r.user)
        return claims

    def get_oidc_issuer_endpoint(self, request) -> str:
        # The issuer is the site's public address, never the request's Host header.
        return settings.SITE_URL

    def get_discovery_claims(self, request) -> list[str]:
        return ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "email", "email_verified"]

    # --- Client authentication -------------------------------------------------------------------

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        self._load_application(request.client_id, request)
        client = request.client
        if client is not None and client.client_type == client.CLIENT_PUBLIC:
            # A public client has no secret; one that sends credentials is refused, not ignored.
            logger.info("public client %s sent a client secret", client.client_id)
            return False
        return super().authenticate_client(request, *args, **kwargs)

    def validate_silent_login(self, request) -> bool:
        # prompt=none is decided by the authorize view, which knows the session.
        return True

    def validate_silent_authorization(self, request) -> bool:
        return True

    # --- The authorization code and what the sign-in proved ---------------------------------------

    def _create_authorization_code(self, request, code, expires=None):
        if request.code_challenge_method != "S256":
            from oauthlib.oauth2.rfc6749 import errors

            raise errors.InvalidRequestError(description="Use PKCE with S256.", request=request)
        grant = super()._create_authorization_code(request, code, expires)
        proof = request.auth_proof
        GrantProof.objects.create(
            grant=grant, auth_time=proof.auth_time, methods=list(proof.methods), level=str(proof.level), sid=request.sid
        )
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        grant = get_grant_model().objects.filter(code=code, application=client).first()
        if grant is None:
            self._code_replayed(code, client)
            return False
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        proof = GrantProof.objects.filter(grant=grant).first()
        if proof is None:
            return False
        request.grant_proof = proof
        return True

    def _code_replayed(self, code: str, client) -> None:
        """A code used before: revoke what its first use gave (RFC 6749 4.1.2, RFC 9700 4.2.4)."""
        used = UsedCode.objects.filter(digest=code_digest(code), application_id=client.pk).first()
        if used is None or used.access_token_id is None:
            return
        logger.warning(
            "authorization code replayed for client %s", client.client_id, extra={"event": "oidc_code_replay"}
        )
        access = get_access_token_model().objects.filter(pk=used.access_token_id).first()
        if access is None:
            return
        refresh = get_refresh_token_model().objects.filter(access_token=access).first()
        if refresh is not None:
            refresh.revoke()
        access.revoke()

    def save_bearer_token(self, token, request, *args, **kwargs):
        result = super().save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code":
            access = (
                get_access_token_model()
                .objects.filter(token_checksum=hashlib.sha256(token["access_token"].encode("utf-8")).hexdigest())
                .first()
            )
            UsedCode.objects.create(
                digest=code_digest(request.code),
                application_id=request.client.pk,
                access_token=access,
                used_at=clock.now(),
            )
        return result

    def _get_key_for_token(self, token):
        return keys.verification_keyset()

    def refresh_id_token(self, request) -> bool:
        # A refreshed ID token would have to repeat the original sign-in's auth_time, amr and acr;
        # the refresh grant issues access tokens only (OpenID Connect Core 12.2 allows it).
        return False

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        proof: GrantProof = request.grant_proof
        level = AuthLevel(proof.level)
        claims.update(
            auth_time=int(proof.auth_time),
            amr=list(proof.methods),
            acr=acr.ACR_FOR_LEVEL[level],
            sid=proof.sid,
        )
        return claims, expiration

    def finalize_id_token(self, id_token, token, token_handler, request) -> str:
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        signed = keys.jwt_sign(id_token)
        with transaction.atomic():
            saved = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = saved
        request.id_token = saved
        return signed
