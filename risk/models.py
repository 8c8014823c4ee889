"""Tables of the risk engine: per-user and global feature counts, and per-user login stats.

Values are stored as digests (``value_hash``) so that per-user rows hold no IP address or
user-agent in the clear; the global table keeps a truncated copy of the value for the admin.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserFeatureCount(models.Model):
    """How often a value (at one level of a feature hierarchy) occurred in a user's sign-ins."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=16)
    value_hash = models.CharField(max_length=32)
    count = models.PositiveIntegerField(default=0)
    last_seen = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=["user", "value_hash"], name="risk_user_value_unique"),)
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

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", primary_key=True)
    n_success = models.PositiveIntegerField(default=0)
    n_with_device = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True)
    last_latitude = models.FloatField(null=True)
    last_longitude = models.FloatField(null=True)
    last_accuracy_km = models.FloatField(null=True)
    last_country = models.CharField(max_length=2, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.n_success} sign-ins"


class LoginEvent(models.Model):
    """One assessed sign-in attempt: its context, the engine's decision and reasons, the outcome."""

    class Method(models.TextChoices):
        PASSWORD = "password", _("Password")
        PASSKEY = "passkey", _("Passkey")
        STEP_UP = "step_up", _("Step-up of a signed-in session")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending (second step not finished)")
        SUCCESS = "success", _("Signed in")
        DENIED = "denied", _("Refused")
        ABANDONED = "abandoned", _("Not finished")

    created_at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    ip = models.GenericIPAddressField(unpack_ipv4=True)
    asn = models.PositiveBigIntegerField(null=True, blank=True)
    network = models.CharField(max_length=64, blank=True)
    network_org = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=128, blank=True)
    city = models.CharField(max_length=128, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    browser = models.CharField(max_length=128, blank=True)
    os = models.CharField(max_length=128, blank=True)
    device_type = models.CharField(max_length=16, blank=True)
    device_key = models.CharField(max_length=32, blank=True, help_text="Digest of the device cookie")
    trusted_device = models.BooleanField(default=False)
    mode = models.CharField(max_length=16)
    score = models.FloatField(null=True, blank=True, help_text="Empty when the engine failed")
    decision = models.CharField(max_length=20, db_index=True)
    reasons = models.JSONField(
        default=list, help_text="[{code, text, weight}]: weight is what the reason added to the score"
    )
    breakdown = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    method = models.CharField(
        max_length=16, choices=Method.choices, default=Method.PASSWORD, help_text="How the sign-in began"
    )
    factor = models.CharField(max_length=16, blank=True, help_text="Kind of second factor used, if any")
    earlier_sign_ins = models.PositiveIntegerField(
        null=True, blank=True, help_text="The user's completed sign-ins before this one, as the engine counted them"
    )
    round_trip_ms = models.FloatField(null=True, blank=True, help_text="Round-trip time measured by the sign-in page")
    request_id = models.CharField(max_length=64, blank=True)
    app = models.CharField(
        max_length=255, blank=True, help_text="The application the sign-in was for (empty: this site itself)"
    )
    app_id = models.CharField(max_length=255, blank=True, db_index=True, help_text="That application's client ID")

    class Meta:
        ordering = ("-created_at",)
        indexes = (models.Index(fields=["user", "-created_at"], name="risk_event_user_time"),)

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.user_id} {self.decision} {self.outcome}"


class TrustedDevice(models.Model):
    """A browser the user asked us to remember after a successful second step.

    The cookie holds a random token (256 bits); only its SHA-256 is stored. ``binding`` is a
    digest of the user's password hash and factor list when the device was remembered: a password
    or factor change alters it, which revokes every remembered device without extra bookkeeping.
    ``client_binding`` is a digest of the browser it was issued to (browser and OS family, device
    cookie): the cookie counts only in that browser. Empty for devices remembered before the
    binding existed; those count for nothing (``risk.trust.trusted_device_check``).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_devices")
    token_hash = models.CharField(max_length=64, unique=True)
    binding = models.CharField(max_length=64)
    client_binding = models.CharField(
        max_length=64, blank=True, help_text="Digest of the browser family, OS family and device cookie"
    )
    label = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.label or 'device'} of user {self.user_id}"


class IPBlocklist(models.Model):
    """A list loaded by ``manage.py risk_blocklist_load``: IP reputation (FireHOL, CIDR or Tor exits),
    or hosting and VPN networks (CIDRs and AS numbers, ``--kind hosting``).

    Kept in the database, not on one machine's disk, so every process of the site sees it.
    """

    REPUTATION, HOSTING = "reputation", "hosting"
    KINDS = ((REPUTATION, "IP reputation (abuse)"), (HOSTING, "Hosting and VPN networks"))

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=KINDS, default=REPUTATION)
    source = models.CharField(max_length=255, help_text="File it was loaded from")
    networks = models.TextField(help_text="One network (or, in a hosting list, AS number) per line, normalised")
    count = models.PositiveIntegerField()
    loaded_at = models.DateTimeField()

    class Meta:
        ordering = ("name",)
        verbose_name = "IP blocklist"

    def __str__(self) -> str:
        return f"{self.name} ({self.count} networks)"


class ChallengeThreshold(models.Model):
    """One band's CHALLENGE threshold as computed by ``risk_calibrate --apply`` (docs/risk-model.md).

    Every run writes one row per band, kept as the history the dashboard draws; the newest row of
    each band is in force. ``calibrated`` False means the band had too few completed sign-ins
    and the fixed default (``challenge``) stays in force.
    """

    computed_at = models.DateTimeField(db_index=True)
    band_min = models.PositiveIntegerField(help_text="Fewest earlier completed sign-ins of the band")
    band_max = models.PositiveIntegerField(null=True, blank=True, help_text="Most; empty for the last band")
    challenge = models.FloatField(help_text="CHALLENGE threshold in force for the band")
    calibrated = models.BooleanField(help_text="False: too few sign-ins, the fixed default stays in force")
    fixed_default = models.FloatField(help_text="The fixed CHALLENGE threshold (RISK_THRESHOLDS) at the time")
    target_rate = models.FloatField(help_text="Share of completed sign-ins it was computed to challenge")
    expected_rate = models.FloatField(null=True, blank=True, help_text="Share the threshold would have challenged")
    sign_ins = models.PositiveIntegerField(help_text="Completed sign-ins of the band in the window")
    floored = models.PositiveIntegerField(help_text="Of those, challenged by a rule whatever the score")
    window_days = models.PositiveIntegerField()
    limited_by = models.CharField(max_length=16, blank=True, help_text="floor, ceiling or step when a bound decided")

    class Meta:
        ordering = ("-computed_at", "band_min")
        indexes = (models.Index(fields=["band_min", "-computed_at"], name="risk_threshold_band_time"),)

    def __str__(self) -> str:
        return f"{self.computed_at:%Y-%m-%d %H:%M} band {self.band_min}: {self.challenge:.2f}"
