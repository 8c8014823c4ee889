"""The custom user model: email is the sign-in identifier."""

from __future__ import annotations

import unicodedata

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower


def normalize_email_address(email: str) -> str:
    """Return the form an address is stored in: trimmed and lower-cased (mail still goes to it)."""
    return email.strip().lower()


def email_fold(email: str) -> str:
    """Return the one form that says whether two spellings name the same account.

    NFKC, case folding, NFKC again (Unicode's NFKC_Casefold in spirit), so compatibility
    characters such as U+017F LONG S match their plain letter whatever the database does:
    SQLite's case-insensitive match folds ASCII only, PostgreSQL's ``UPPER()`` also turns U+0131
    DOTLESS I into "I". Account lookups, throttle counters and send caps all use this function.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).casefold())


def normalize_password(raw: str) -> str:
    """Return ``raw`` in Unicode NFKC, the form every password is hashed and checked in.

    NIST SP 800-63B §3.1.1.2: verifiers SHOULD apply NFKC before hashing, so the same password
    typed on another keyboard or system (a composed "é" or "e" plus a combining accent, a
    full-width digit) matches. ASCII is unchanged by it.
    """
    return unicodedata.normalize("NFKC", raw)


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

    def get_by_email(self, email: str) -> User | None:
        """Return the account whose address folds (``email_fold``) to the same form, or None.

        The database narrows the candidates; the fold decides, so SQLite and PostgreSQL agree on
        which spellings name an account.
        """
        folded = email_fold(email or "")
        if not folded:
            return None
        # The stored, lower-cased spelling too: lower() and the fold differ for a few letters (ß).
        lookup = models.Q(email__iexact=folded) | models.Q(email__iexact=normalize_email_address(email))
        for user in self.filter(lookup).order_by("pk"):
            if email_fold(user.email) == folded:
                return user
        return None

    def get_by_natural_key(self, username):
        user = self.get_by_email(username or "")
        if user is None:
            raise self.model.DoesNotExist("No account has that email address.")
        return user


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

    # The language emails and texts are written in (one of settings.LANGUAGES); "" until the
    # account first uses the site after sign-up (authsite.accounts.middleware.UserLanguageMiddleware).
    language = models.CharField(
        "language",
        max_length=16,
        blank=True,
        default="",
        help_text="Emails and text messages are written in this language.",
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

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(None if raw_password is None else normalize_password(raw_password))

    def check_password(self, raw_password: str) -> bool:
        """Check ``raw_password`` in NFKC; then, once, as typed, for a hash made before passwords
        were normalised, which is replaced by the normalised hash when it matches."""
        from django.contrib.auth.hashers import check_password

        normalized = normalize_password(raw_password)
        if super().check_password(normalized):
            return True
        if normalized == raw_password or not check_password(raw_password, self.password):
            return False
        self.set_password(raw_password)
        if self.pk is not None:
            self.save(update_fields=["password"])
        return True


from authsite.accounts.sessions_models import UserSession  # noqa: E402, F401  (the session table, see that module)
