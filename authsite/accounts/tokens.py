"""Account activation tokens: signed, expiring, single use.

Apart from the services so that the email task, which makes the link as it sends, and the
services, which queue that task, do not import each other.
"""

from __future__ import annotations

import hashlib

from django.core import signing

from authsite.accounts.models import User

ACTIVATION_SALT = "accounts.activation"


def activation_state(user: User) -> str:
    # Changes once the account is activated or its password changes, so a link works once.
    raw = f"{user.pk}:{user.is_active}:{user.email_verified_at}:{user.password}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def account_activation_token(user: User) -> str:
    """Return a signed, expiring, single-use token that activates ``user``."""
    return signing.dumps({"u": user.pk, "s": activation_state(user)}, salt=ACTIVATION_SALT)
