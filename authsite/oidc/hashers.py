"""The hasher of client secrets: salted, one round, because the secrets are long random strings.

A slow password hash (Argon2id) protects guessable secrets; a client secret is 128 random
characters from django-oauth-toolkit's generator (over 700 bits), so no guess can be checked
against a leaked hash however fast the hash is, and a slow one would only cost every token
request the time of a password sign-in. Listed last in ``PASSWORD_HASHERS`` (so Django can check
it) and named by ``OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"]``; user passwords never use it.
"""

from __future__ import annotations

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ClientSecretHasher(PBKDF2PasswordHasher):
    algorithm = "oidc_client_secret"
    iterations = 1
