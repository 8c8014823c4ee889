from django.apps import AppConfig


class RiskConfig(AppConfig):
    """The risk engine: login context, signals, score and decision."""

    name = "risk"
    verbose_name = "Risk engine"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from risk import checks, loading  # noqa: F401  (registers checks and the cache reset)
