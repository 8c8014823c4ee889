"""Password validators in AUTH_PASSWORD_VALIDATORS style."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class MaximumLengthValidator:
    """Refuse passwords longer than ``max_length`` characters.

    NIST SP 800-63B lets verifiers cap the length as long as at least 64 characters are allowed;
    the cap keeps a megabyte-sized "password" from reaching the hasher. The forms also carry the
    same limit on the field, so an oversized value is refused before any hashing.
    """

    def __init__(self, max_length: int = 1024) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: object = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                _("This password is too long. It can have at most %(max_length)d characters."),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return _("Your password can have up to %(max_length)d characters.") % {"max_length": self.max_length}
