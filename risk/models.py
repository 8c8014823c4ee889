"""Tables of the risk engine: per-user and global feature counts, and per-user login stats.

Values are stored as digests (``value_hash``) so that per-user rows hold no IP address or
user-agent in the clear; the global table keeps a truncated copy of the value for the admin.
"""

from django.conf import settings
from django.db import models


class UserFeatureCount(models.Model):
    """How often a value (at one level of a feature hierarchy) occurred in a user's sign-ins."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    level = models.CharField(max_length=16)
    value_hash = models.CharField(max_length=32)
    count = models.PositiveIntegerField(default=0)
    last_seen = models.DateTimeField()

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["user", "value_hash"], name="risk_user_value_unique"),
        )
        indexes = (models.Index(fields=["last_seen"], name="risk_userfeat_last_seen"),)

    def __str__(self) -> str:
        return f"{self.user_id} {self.level} x{self.count}"


class GlobalFeatureCount(models.Model):
    """How often a value occurred in everyone's successful sign-ins."""

    level = models.CharField(max_length=16)
    value_hash = models.CharField(max_length=32, unique=True)
    value = models.CharField(max_length=255)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = (models.Index(fields=["level", "-count"], name="risk_globfeat_level_count"),)

    def __str__(self) -> str:
        return f"{self.level}={self.value} x{self.count}"


class GlobalLevelStats(models.Model):
    """Totals per level: number of entries and number of distinct values.

    Two pseudo levels: ``__users__logins`` (total = all learned sign-ins) and ``__users__``
    (distinct = users with history).
    """

    level = models.CharField(max_length=32, unique=True)
    total = models.PositiveBigIntegerField(default=0)
    distinct = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.level}: {self.total} entries, {self.distinct} distinct"


class UserLoginStats(models.Model):
    """A user's successful sign-ins: how many, and where and when the last one was."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+", primary_key=True)
    n_success = models.PositiveIntegerField(default=0)
    n_with_device = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True)
    last_latitude = models.FloatField(null=True)
    last_longitude = models.FloatField(null=True)
    last_accuracy_km = models.FloatField(null=True)
    last_country = models.CharField(max_length=2, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.n_success} sign-ins"
