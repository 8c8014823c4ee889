from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "authsite.oidc"
    label = "oidc"
    verbose_name = "OpenID Connect provider"

    def ready(self) -> None:
        # Registers the system checks and the sign-out receiver.
        from authsite.oidc import checks, signals  # noqa: F401
