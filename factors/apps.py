from django.apps import AppConfig


class FactorsConfig(AppConfig):
    """Second factors: TOTP, SMS, email codes, WebAuthn, recovery codes."""

    name = "factors"
    verbose_name = "Sign-in factors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the system checks and the SMS backend cache reset on setting_changed.
        from factors import checks, sms  # noqa: F401
