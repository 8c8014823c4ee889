"""The provider's data: registered clients (django-oauth-toolkit's swappable application model),
the sign-in proof bound to each authorization code, consents, the sessions each client signed in
to (for back-channel logout), stable subject identifiers and used codes (replay detection)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication
from oauth2_provider.settings import oauth2_settings

from authsite.login.facts import AuthLevel


class Policy(models.TextChoices):
    """How strong a sign-in a client requires, whatever the application asks for itself."""

    ADAPTIVE = "adaptive", _("Adaptive: the risk engine decides (default)")
    MFA = "mfa", _("MFA always")
    PHISHING_RESISTANT = "phishing_resistant", _("Phishing-resistant factor only (passkey or security key)")


LEVEL_FOR_POLICY = {
    Policy.ADAPTIVE: AuthLevel.PASSWORD,
    Policy.MFA: AuthLevel.MFA,
    Policy.PHISHING_RESISTANT: AuthLevel.PHISHING_RESISTANT,
}


class Client(AbstractApplication):
    """An application that signs its users in here (OAUTH2_PROVIDER_APPLICATION_MODEL).

    Only the authorization code grant with PKCE is offered; redirect URIs match exactly; a
    confidential client's secret is stored hashed (django-oauth-toolkit's ``hash_client_secret``).
    """

    allowed_scopes = models.CharField(
        max_length=255, default="openid email", help_text=_("Space-separated scopes this client may ask for")
    )
    policy = models.CharField(max_length=32, choices=Policy.choices, default=Policy.ADAPTIVE)
    first_party = models.BooleanField(
        default=False, help_text=_("A first-party application: its users are not asked to allow it (no consent screen)")
    )
    backchannel_logout_uri = models.URLField(
        max_length=500,
        blank=True,
        help_text=_("OpenID Connect back-channel logout: where to post a logout token when a session ends"),
    )

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = _("client")

    @property
    def level(self) -> AuthLevel:
        return LEVEL_FOR_POLICY[Policy(self.policy)]

    @property
    def scopes(self) -> list[str]:
        return self.allowed_scopes.split()

    @property
    def jwk_key(self):
        """The provider's published keys: ID tokens are signed by the site, not per client."""
        from authsite.oidc.keys import verification_keyset

        return verification_keyset()

    def allows_grant_type(self, *grant_types: str) -> bool:
        # The code flow (and refreshing its tokens) only: no implicit, password or client grant.
        return AbstractApplication.GRANT_AUTHORIZATION_CODE in grant_types

    def save(self, *args, **kwargs) -> None:
        self.authorization_grant_type = AbstractApplication.GRANT_AUTHORIZATION_CODE
        if self.client_type == AbstractApplication.CLIENT_PUBLIC:
            # A public client has no secret (DOT would otherwise generate one nobody could keep),
            # and an empty one is stored as such, not as the hash of "".
            self.client_secret = ""
            self.hash_client_secret = False
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        # The code flow (with PKCE) is the one grant offered.
        self.authorization_grant_type = AbstractApplication.GRANT_AUTHORIZATION_CODE
        try:
            super().clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
        unknown = set(self.scopes) - set(settings.OAUTH2_PROVIDER["SCOPES"])
        if unknown:
            errors.setdefault("allowed_scopes", []).append(
                gettext("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(sorted(unknown))}
            )
        if "openid" not in self.scopes:
            errors.setdefault("allowed_scopes", []).append(gettext("The openid scope is needed to sign users in."))
        if self.backchannel_logout_uri and not self.backchannel_logout_uri.startswith(("https://", "http://")):
            errors.setdefault("backchannel_logout_uri", []).append(gettext("Use an https:// address."))
        if errors:
            raise ValidationError(errors)


class GrantProof(models.Model):
    """What the session proved when it was given an authorization code: copied into the ID token."""

    grant = models.OneToOneField(oauth2_settings.GRANT_MODEL, on_delete=models.CASCADE, related_name="+")
    auth_time = models.FloatField()
    methods = models.JSONField(default=list)
    level = models.CharField(max_length=32, choices=[(level.value, level.value) for level in AuthLevel])
    sid = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.level} at {self.auth_time:.0f}"


class Subject(models.Model):
    """The stable ``sub`` of a user: random, never the database id, kept while the account exists."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sub = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    def __str__(self) -> str:
        return str(self.sub)


class Consent(models.Model):
    """A user allowed a (third-party) client these scopes; the Security page lists and revokes it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+")
    scopes = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=["user", "client"], name="oidc_consent_user_client"),)

    def __str__(self) -> str:
        return f"{self.client} ({self.scopes})"


class ClientSession(models.Model):
    """A client was given a sign-in of this site's session ``sid``: told when the session ends."""

    sid = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=["sid", "client"], name="oidc_client_session_sid_client"),)

    def __str__(self) -> str:
        return f"{self.client} in session {self.sid[:6]}..."


class UsedCode(models.Model):
    """An authorization code that was exchanged, and the tokens it gave (RFC 6749 section 4.1.2).

    A second use of the code revokes those tokens: whoever replays it may hold a stolen code.
    """

    digest = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+")
    access_token = models.ForeignKey(
        oauth2_settings.ACCESS_TOKEN_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    used_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"code {self.digest[:8]}... used at {self.used_at}"
