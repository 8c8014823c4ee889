"""Second-factor devices: django-otp ``Device`` subclasses, one table per kind.

Every device verifies through ``check_token(token, bind=...)``, which returns a ``VerifyStatus``
and keeps the throttle on the device row. Callers must hold the row with ``select_for_update`` inside
``transaction.atomic()`` (``factors.services.factor_verify`` does), so a code is accepted once even
for two parallel requests.
"""

from __future__ import annotations

import enum
import math
from datetime import timedelta
from typing import ClassVar

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import models
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import (
    CooldownMixin,
    Device,
    GenerateNotAllowed,
    ThrottlingMixin,
    VerifyNotAllowed,
)

from authsite.core import clock
from factors import crypto, otp, seams
from factors.conf import factors_settings


class VerifyStatus(enum.StrEnum):
    """The outcome of checking one token against one device (``check_token``) or of a service."""

    OK = "ok"
    INVALID = "invalid"
    THROTTLED = "throttled"
    REPLAY = "replay"
    # Enrollment only (``factors.services``): too many wrong codes; the unconfirmed device is gone,
    # start again. ``check_token`` never returns it.
    RESTART = "restart"


# Wrong codes an unconfirmed device takes before its enrollment must start again (with a new key or
# a new code; ``factors.services`` deletes the device).
ENROLL_MAX_FAILURES = 5


class FactorDevice(ThrottlingMixin, Device):
    """Common fields and the throttle, on the time seam, for every factor device.

    The throttle is django-otp's exponential back-off (``factor * 2 ** (failures - 1)`` seconds
    after the last failure). Its methods are overridden to read ``clock.now()`` and to leave
    enrollment out: an unconfirmed device is checked only by its signed-in owner confirming it, who
    gets the next try at once, up to ``ENROLL_MAX_FAILURES`` wrong codes in all.
    """

    factor_kind: ClassVar[str] = ""
    # What a device must meet to count as one of its owner's factors (listed, counted, offered).
    factor_filter: ClassVar[models.Q] = models.Q()

    # Fail closed: a device is usable only once a service has activated it (django-otp's default
    # is True).
    confirmed = models.BooleanField(
        default=False, help_text="Usable for sign-in (set after a successful first verification)."
    )
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    preferred = models.BooleanField(default=False)

    class Meta:
        abstract = True

    @property
    def can_answer(self) -> bool:
        """Tell whether this confirmed device can answer a challenge (a phone: once verified)."""
        return True

    def get_throttle_factor(self) -> int:
        return factors_settings.THROTTLE_FACTOR

    def throttle_seconds_left(self) -> int:
        """Return how many seconds remain until the next attempt is allowed (0: allowed now)."""
        if not self.confirmed:
            return 0
        if not (self.throttling_enabled and self.throttling_failure_count > 0):
            return 0
        if self.throttling_failure_timestamp is None:
            return 0
        required = self.get_throttle_factor() * 2 ** min(self.throttling_failure_count - 1, 40)
        elapsed = (clock.now() - self.throttling_failure_timestamp).total_seconds()
        return max(0, math.ceil(required - elapsed))

    def verify_is_allowed(self):
        if not self.confirmed and self.throttling_failure_count >= ENROLL_MAX_FAILURES:
            return False, {
                "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                "failure_count": self.throttling_failure_count,
                "seconds_left": 0,
            }
        left = self.throttle_seconds_left()
        if left:
            return False, {
                "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                "failure_count": self.throttling_failure_count,
                "seconds_left": left,
            }
        return True, None

    def throttle_increment(self, commit: bool = True) -> None:
        self.throttling_failure_timestamp = clock.now()
        if not commit:
            self.throttling_failure_count += 1
            return
        # Increment in the database, so parallel failures are all counted.
        type(self).objects.filter(pk=self.pk).update(
            throttling_failure_timestamp=self.throttling_failure_timestamp,
            throttling_failure_count=models.F("throttling_failure_count") + 1,
        )
        self.throttling_failure_count = (
            type(self).objects.values_list("throttling_failure_count", flat=True).get(pk=self.pk)
        )

    def throttle_reset(self, commit: bool = True) -> None:
        self.throttling_failure_timestamp = None
        self.throttling_failure_count = 0
        if commit:
            self.save(update_fields=["throttling_failure_timestamp", "throttling_failure_count"])

    def check_token(self, token: str, *, bind: str | None = None) -> VerifyStatus:
        """Check ``token`` (bound to ``bind`` where the kind supports it) and record the result."""
        raise NotImplementedError

    def verify_token(self, token) -> bool:
        """Implement django-otp's protocol; prefer ``check_token`` for a detailed outcome."""
        return self.check_token(str(token)) is VerifyStatus.OK

    def _consume(self, *, values: dict, **conditions) -> bool:
        """Record a success with a conditional UPDATE; return False if the condition failed.

        The condition (e.g. "last_t is still older", "the code is still the stored one") is
        checked by the database, so even a stale instance or a missing row lock cannot accept the
        same code twice. The caller's select_for_update remains the primary guarantee.
        """
        now = clock.now()
        values = {
            **values,
            "last_used_at": now,
            "throttling_failure_timestamp": None,
            "throttling_failure_count": 0,
        }
        updated = type(self).objects.filter(pk=self.pk, **conditions).update(**values)
        if updated:
            for name, value in values.items():
                setattr(self, name, value)
        return bool(updated)


class TOTPDevice(FactorDevice):
    """An authenticator app (RFC 6238), the key encrypted at rest.

    Not django_otp.plugins.otp_totp: that model stores the key in clear hex.
    """

    factor_kind = "totp"

    encrypted_key = models.TextField(help_text="The 160-bit key, encrypted (factors.crypto).")
    digits = models.PositiveSmallIntegerField(default=6)
    step = models.PositiveSmallIntegerField(default=30)
    tolerance = models.PositiveSmallIntegerField(default=1)
    # The last accepted time step; a code of this step or an older one is a replay.
    last_t = models.BigIntegerField(default=-1)

    class Meta:
        verbose_name = "TOTP device"

    @property
    def bin_key(self) -> bytes:
        return crypto.decrypt(self.encrypted_key)

    def set_key(self, key: bytes) -> None:
        self.encrypted_key = crypto.encrypt(key)

    def provisioning_uri(self) -> str:
        return otp.provisioning_uri(
            self.bin_key,
            account=self.user.get_username(),
            issuer=factors_settings.TOTP_ISSUER,
            digits=self.digits,
            step=self.step,
        )

    def check_token(self, token: str, *, bind: str | None = None) -> VerifyStatus:
        if not self.verify_is_allowed()[0]:
            return VerifyStatus.THROTTLED
        token = "".join(str(token).split())
        key = self.bin_key
        current = otp.time_step(clock.now(), step=self.step)
        matched: list[int] = []
        for t in range(current - self.tolerance, current + self.tolerance + 1):
            if t >= 0 and constant_time_compare(token, otp.hotp(key, t, digits=self.digits)):
                matched.append(t)
        fresh = [t for t in matched if t > self.last_t]
        if fresh and self._consume(last_t__lt=max(fresh), values={"last_t": max(fresh)}):
            return VerifyStatus.OK
        # A replay counts as a failure too: it is what an attacker who saw a code would send.
        self.throttle_increment()
        return VerifyStatus.REPLAY if matched else VerifyStatus.INVALID


class RecoveryCodeHasher(PBKDF2PasswordHasher):
    """PBKDF2 with few iterations, for recovery codes only.

    A recovery code has 80 random bits, so an offline search of the hash space is infeasible at
    any iteration count; the slow password hashers would only make checking ten codes slow (ten
    Argon2 runs per attempt). The salt still makes equal codes hash differently.
    """

    iterations = 1000


recovery_code_hasher = RecoveryCodeHasher()


class RecoveryCodeDevice(FactorDevice):
    """A user's current set of single-use recovery codes (one device per user)."""

    factor_kind = "recovery"

    class Meta:
        verbose_name = "recovery code set"

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()

    @staticmethod
    def normalize(code: str) -> str:
        """Uppercase, drop separators, and read look-alike digits as the base32 letters."""
        cleaned = "".join(ch for ch in str(code).upper() if ch.isalnum())
        return cleaned.translate(str.maketrans({"0": "O", "1": "I", "8": "B"}))

    def check_token(self, token: str, *, bind: str | None = None) -> VerifyStatus:
        if not self.verify_is_allowed()[0]:
            return VerifyStatus.THROTTLED
        candidate = self.normalize(token)
        match = None
        # Check every unused code, not stopping at a match, so timing says nothing of position.
        for code in self.codes.filter(used_at__isnull=True).order_by("pk"):
            if recovery_code_hasher.verify(candidate, code.code_hash) and match is None:
                match = code
        if match is None:
            self.throttle_increment()
            return VerifyStatus.INVALID
        # The conditional update makes the code single-use even if the row lock were missing.
        used = RecoveryCode.objects.filter(pk=match.pk, used_at__isnull=True).update(used_at=clock.now())
        if not used or not self._consume(values={}):
            self.throttle_increment()
            return VerifyStatus.INVALID
        return VerifyStatus.OK


class RecoveryCode(models.Model):
    """One recovery code, hashed."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code {self.pk} ({'used' if self.used_at else 'unused'})"


class CodeDevice(CooldownMixin, FactorDevice):
    """A device that receives a one-time code over a side channel (email, SMS).

    Like django-otp's SideChannelDevice, but the code is stored as an HMAC, not in clear, and the
    HMAC covers a *bind* string (the pending-login id, or "enroll:<device id>"), so a code issued
    for one login attempt fails in another and in enrollment (ASVS 6.6.2). Issuing a new code
    leaves the failure count alone (ASVS 6.6.3).
    """

    token_hash = models.CharField(max_length=128, blank=True, default="")
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def get_cooldown_duration(self) -> int:
        return factors_settings.CODE_COOLDOWN_SECONDS

    def cooldown_seconds_left(self) -> int:
        """Return how many seconds remain until another code may be sent (0: now)."""
        if self.last_generated_timestamp is None:
            return 0
        elapsed = (clock.now() - self.last_generated_timestamp).total_seconds()
        return max(0, math.ceil(self.get_cooldown_duration() - elapsed))

    def generate_is_allowed(self):
        left = self.cooldown_seconds_left()
        if left:
            return False, {
                "reason": GenerateNotAllowed.COOLDOWN_DURATION_PENDING,
                "next_generation_at": self.last_generated_timestamp + timedelta(seconds=self.get_cooldown_duration()),
                "seconds_left": left,
            }
        return True, None

    def _token_hash(self, code: str, bind: str) -> str:
        value = f"{self.persistent_id}\x00{bind}\x00{code}"
        return salted_hmac("factors.CodeDevice", value, algorithm="sha256").hexdigest()

    def issue_code(self, *, bind: str) -> str:
        """Make a new code bound to ``bind``, store its HMAC, start the cooldown; return it.

        The caller delivers the code and must not log it.
        """
        code = seams.random_digits(factors_settings.CODE_DIGITS)
        now = clock.now()
        self.token_hash = self._token_hash(code, bind)
        self.valid_until = now + timedelta(seconds=factors_settings.CODE_VALIDITY_SECONDS)
        self.last_generated_timestamp = now
        self.save(update_fields=["token_hash", "valid_until", "last_generated_timestamp"])
        return code

    def generate_challenge(self):
        raise NotImplementedError("Send codes with factors.services (they need a bind).")

    def check_token(self, token: str, *, bind: str | None = None) -> VerifyStatus:
        if not self.verify_is_allowed()[0]:
            return VerifyStatus.THROTTLED
        token = "".join(str(token).split())
        ok = (
            bind is not None
            and bool(self.token_hash)
            and self.valid_until is not None
            and clock.now() <= self.valid_until
            and constant_time_compare(self._token_hash(token, bind), self.token_hash)
        )
        if not ok:
            self.throttle_increment()
            return VerifyStatus.INVALID
        consumed = self._consume(
            token_hash=self.token_hash,
            values={"token_hash": "", "valid_until": None, "last_generated_timestamp": None},
        )
        if not consumed:
            self.throttle_increment()
            return VerifyStatus.INVALID
        return VerifyStatus.OK


class EmailDevice(CodeDevice):
    """Codes sent to an email address.

    One kind of row is not a factor: the ``account_fallback`` device, which sends codes to the
    account address of a user who has no factor when a sign-in must be challenged. Nobody added it,
    so it is never listed, counted or offered as a factor (``factor_filter``). Resetting a user's
    MFA removes it with the rest.
    """

    factor_kind = "email"
    factor_filter = models.Q(account_fallback=False)

    email = models.EmailField(max_length=254)
    account_fallback = models.BooleanField(
        default=False,
        help_text="Codes to the account address for a user without a factor; not one of the user's factors.",
    )

    class Meta:
        verbose_name = "email code device"

    def masked_destination(self) -> str:
        local, _, domain = self.email.partition("@")
        return f"{local[:1]}***@{domain}"


class SMSDevice(CodeDevice):
    """Codes sent by text message to a phone number in E.164 form.

    ``confirmed`` is the verified flag: a device becomes usable only after a code sent to the
    number has come back (ASVS 6.6.1).
    """

    factor_kind = "sms"

    phone_number = models.CharField(max_length=16, help_text="E.164, e.g. +447700900123")
    calling_code = models.PositiveSmallIntegerField(help_text="Country calling code, e.g. 44")
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SMS device"

    @property
    def verified(self) -> bool:
        return self.confirmed and self.verified_at is not None

    @property
    def can_answer(self) -> bool:
        """A number counts once a code sent to it came back."""
        return self.verified

    def masked_destination(self) -> str:
        return f"+{self.calling_code} ••• {self.phone_number[-2:]}"


def parse_phone_number(raw: str, *, region: str | None = None) -> phonenumbers.PhoneNumber:
    """Parse and validate a phone number; raise ValueError with a user-facing message."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValueError(_("Enter a phone number with its country code, e.g. +44 7700 900123.")) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("That phone number is not valid."))
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        # Premium-rate, shared-cost and similar ranges are what SMS pumping targets.
        raise ValueError(_("Enter a mobile phone number."))
    return number


class WebAuthnUserHandle(models.Model):
    """A per-user stable random user handle (64 bytes), sent as user.id in WebAuthn ceremonies.

    Random rather than the primary key so the authenticator learns nothing about the account.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_handle")
    handle = models.BinaryField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"WebAuthn user handle of user {self.user_id}"


class WebAuthnCredential(FactorDevice):
    """A registered security key or passkey. Verified through ``factors.webauthn``, not tokens."""

    factor_kind = "webauthn"

    credential_id = models.BinaryField(max_length=1023, unique=True, db_index=True)
    credential_data = models.BinaryField(help_text="bytes of fido2 AttestedCredentialData")
    sign_count = models.BigIntegerField(default=0)
    discoverable = models.BooleanField(default=False)
    user_verified_at_registration = models.BooleanField(default=False)
    transports = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "WebAuthn credential"

    def check_token(self, token: str, *, bind: str | None = None) -> VerifyStatus:
        # A WebAuthn assertion is not a typed code; see factors.webauthn.authenticate_complete.
        return VerifyStatus.INVALID


DEVICE_MODELS: tuple[type[FactorDevice], ...] = (
    WebAuthnCredential,
    TOTPDevice,
    SMSDevice,
    EmailDevice,
    RecoveryCodeDevice,
)
