"""Registered clients for the provider's tests (and the relying party's)."""

from __future__ import annotations

import itertools

from oauth2_provider.generators import generate_client_secret

from authsite.oidc.models import Client

_names = itertools.count(1)


def make_client(
    *,
    name: str,
    redirect_uris: list[str],
    public: bool = False,
    policy: str = "adaptive",
    first_party: bool = True,
    scopes: str = "openid email",
    backchannel_logout_uri: str = "",
    post_logout_redirect_uris: list[str] | None = None,
) -> tuple[Client, str | None]:
    """Register a client; return it and its plaintext secret (None for a public client).

    The secret is stored hashed, as the admin stores it: the plaintext exists only in the return value.
    """
    secret = None if public else generate_client_secret()
    client = Client(
        name=name or f"App {next(_names)}",
        client_type=Client.CLIENT_PUBLIC if public else Client.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Client.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirect_uris),
        post_logout_redirect_uris=" ".join(post_logout_redirect_uris or []),
        client_secret=secret or "",
        allowed_scopes=scopes,
        policy=policy,
        first_party=first_party,
        backchannel_logout_uri=backchannel_logout_uri,
    )
    client.full_clean()
    client.save()
    return client, secret
