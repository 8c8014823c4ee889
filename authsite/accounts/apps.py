from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The accounts app: custom user model, sign-up, passwords, sessions, re-authentication, throttles."""

    name = "authsite.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from authsite.accounts import checks  # noqa: F401  (registers system checks)
