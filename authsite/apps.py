from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The accounts app: custom user model, staged login, password flows."""

    name = "authsite"
    label = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from authsite import checks  # noqa: F401  (registers system checks)
