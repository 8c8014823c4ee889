"""The custom user model: email is the sign-in identifier."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower


def normalize_email_address(email: str) -> str:
    """Return the canonical form used for lookups: trimmed and lower-cased."""
    return email.strip().lower()


class UserManager(DjangoUserManager):
    """Create users identified by email address (no username field)."""

    use_in_migrations = True

    def _create_user_object(self, username, email, password, **extra_fields):
        email = normalize_email_address(email or "")
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=email, **extra_fields)
        user.password = ""
        if password is not None:
            user.set_password(password)
        else:
            user.set_unusable_password()
        return user

    def _create_user(self, username, email, password, **extra_fields):
        user = self._create_user_object(username, email, password, **extra_fields)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(None, email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(None, email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=normalize_email_address(username or ""))


class User(AbstractUser):
    """A person who signs in with an email address and a password."""

    username = None
    email = models.EmailField("email address", max_length=254, unique=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Set when an admin resets the user's sign-in methods (or asks for a new one): the next sign-in
    # cannot finish until the user sets up a new factor. Cleared when one is confirmed.
    mfa_enrol_required_at = models.DateTimeField(
        "must set up a sign-in method since",
        null=True,
        blank=True,
        help_text="The next sign-in stops until the user sets up an authenticator app, passkey or security key.",
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email


from authsite.sessions_models import UserSession  # noqa: E402, F401  (the session table, see that module)
