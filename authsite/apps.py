from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class AccountsConfig(AppConfig):
    """The accounts app: custom user model, staged login, password flows."""

    name = "authsite"
    label = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from authsite import checks  # noqa: F401  (registers system checks)


class MfaAdminConfig(AdminConfig):
    """Django's admin, served by a site that demands a second factor from staff."""

    default_site = "authsite.admin_site.MfaAdminSite"
