"""A relying party for the provider's end-to-end tests: a separate Django project run under gunicorn.

It signs its users in through the provider with Authlib, a client library independent of the
provider's django-oauth-toolkit, and so checks every ID token as any application would: the
signature against the provider's JWKS, ``iss``, ``aud``, ``exp``, ``nonce`` and ``at_hash``.
"""
