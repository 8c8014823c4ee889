from django.apps import AppConfig


class FactorsConfig(AppConfig):
    """Second factors: TOTP, SMS, email codes, WebAuthn, recovery codes."""

    name = "factors"
    verbose_name = "Sign-in factors"
    default_auto_field = "django.db.models.BigAutoField"
