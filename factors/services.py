"""Services of the factors app (writes) and selectors (reads), keyword-only and typed.

Views and the login stages call these; they never touch device models directly. A device is
named by its django-otp persistent id (``"factors.totpdevice/12"``), always together with the
user it must belong to. Notifications ("a recovery code was used", "a factor was added") are the
caller's job; results carry what it needs.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from authsite.accounts.language import in_user_language
from authsite.core import clock
from authsite.core.parsing import parse_id
from authsite.login.inventory import FactorSummary
from factors import crypto, limits, otp, seams
from factors.conf import factors_settings
from factors.models import (
    DEVICE_MODELS,
    ENROLL_MAX_FAILURES,
    CodeDevice,
    EmailDevice,
    FactorDevice,
    RecoveryCode,
    RecoveryCodeDevice,
    SMSDevice,
    TOTPDevice,
    VerifyStatus,
    WebAuthnCredential,
    parse_phone_number,
    recovery_code_hasher,
)
from factors.qr import qr_svg
from factors.registry import Requirement, satisfies, sort_key
from factors.sms import SmsDeliveryError, send_sms

logger = logging.getLogger(__name__)

# --- Results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``factor_verify``.

    ``seconds_left`` is set when THROTTLED. ``device`` is None when no usable device of that id
    belongs to the user (reported as INVALID, like a wrong code). ``recovery_codes_left`` is set
    after a recovery code was used, so the caller can notify and nudge the user to regenerate.
    """

    status: VerifyStatus
    device: FactorDevice | None = None
    seconds_left: int = 0
    recovery_codes_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is VerifyStatus.OK

    @property
    def factor_kind(self) -> str | None:
        return self.device.factor_kind if self.device is not None else None


class SendStatus(enum.StrEnum):
    SENT = "sent"
    COOLDOWN = "cooldown"
    CAPPED = "capped"
    NOT_ALLOWED_COUNTRY = "not_allowed_country"
    DELIVERY_FAILED = "delivery_failed"
    NOT_USABLE = "not_usable"


@dataclass(frozen=True)
class SendResult:
    """Outcome of sending a code. ``destination`` is masked, for "we sent a code to ..."."""

    status: SendStatus
    seconds_left: int = 0
    destination: str = ""

    @property
    def sent(self) -> bool:
        return self.status is SendStatus.SENT


@dataclass(frozen=True)
class TotpEnrollment:
    """What the enrollment page shows: the QR code (SVG) and the key for manual entry."""

    device: TOTPDevice
    uri: str
    secret_b32: str
    qr_svg: str = field(repr=False)


# --- Lookups ------------------------------------------------------------------------------------

_MODELS_BY_LABEL = {m.model_label(): m for m in DEVICE_MODELS}


def _parse_device_id(device_id: str) -> tuple[type[FactorDevice], int] | None:
    label, _, pk = str(device_id).rpartition("/")
    model = _MODELS_BY_LABEL.get(label)
    pk = parse_id(pk)
    if model is None or pk is None:
        return None
    return model, pk


def _lock_device(
    *, user, device_id: str, confirmed: bool | None = True, factors_only: bool = False
) -> FactorDevice | None:
    """Load ONE device of ``user`` by id with SELECT ... FOR UPDATE (call inside atomic()).

    ``factors_only`` leaves out devices that are not one of the user's factors (the fallback).
    """
    parsed = _parse_device_id(device_id)
    if parsed is None:
        return None
    model, pk = parsed
    qs = model.objects.select_for_update().filter(pk=pk, user=user)
    if factors_only:
        qs = qs.filter(model.factor_filter)
    if confirmed is not None:
        qs = qs.filter(confirmed=confirmed)
    return qs.first()


def enrollment_bind(device: FactorDevice) -> str:
    """Return the bind string of codes sent while enrolling ``device``."""
    return f"enroll:{device.persistent_id}"


# --- Verification -------------------------------------------------------------------------------


def _check_locked(device: FactorDevice, response: str, bind: str | None) -> VerifyResult:
    status = device.check_token(response, bind=bind)
    left = device.throttle_seconds_left() if status is VerifyStatus.THROTTLED else 0
    codes_left = None
    if status is VerifyStatus.OK and isinstance(device, RecoveryCodeDevice):
        codes_left = device.remaining()
    return VerifyResult(status=status, device=device, seconds_left=left, recovery_codes_left=codes_left)


def _check_enrolling(device: FactorDevice, response: str, bind: str | None) -> VerifyResult:
    """Check a code confirming an unconfirmed device: no back-off, but at most ENROLL_MAX_FAILURES.

    The back-off protects sign-in against guessing. Here the owner is signed in already and has
    just been shown the key or sent the code, so a typo is retried at once; the cap still bounds
    guessing a code sent to a number or address that is not theirs. At the cap the device is
    deleted: a new key, or a new code to a number entered again, is the way on.
    """
    result = _check_locked(device, response, bind)
    if not result.ok and device.throttling_failure_count >= ENROLL_MAX_FAILURES:
        device.delete()
        return VerifyResult(status=VerifyStatus.RESTART)
    return result


def factor_verify(*, device_id: str, user, response: str, bind: str | None = None) -> VerifyResult:
    """Check ``response`` against ONE confirmed device of ``user``, atomically.

    ``bind`` is the pending-login id for email and SMS codes (ignored by TOTP and recovery
    codes). The row lock makes a code succeed once even for parallel requests; the device's
    throttle is honoured and updated. WebAuthn is verified by ``factors.webauthn`` instead.
    """
    if _parse_device_id(device_id) is None or device_id.startswith(WebAuthnCredential.model_label()):
        return VerifyResult(status=VerifyStatus.INVALID)
    with transaction.atomic():
        device = _lock_device(user=user, device_id=device_id)
        if device is None:
            return VerifyResult(status=VerifyStatus.INVALID)
        if not device.can_answer:
            return VerifyResult(status=VerifyStatus.INVALID)
        return _check_locked(device, response, bind)


# --- TOTP ---------------------------------------------------------------------------------------


def factor_enroll_totp_begin(*, user, name: str = "Authenticator app") -> TotpEnrollment:
    """Create an unconfirmed TOTP device with a new 160-bit key; return what to show.

    Earlier unconfirmed TOTP devices of the user are dropped, so abandoned attempts do not pile up.
    """
    key = seams.token_bytes(20)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice(
            user=user,
            name=name[:64],
            confirmed=False,
            digits=factors_settings.TOTP_DIGITS,
            step=factors_settings.TOTP_STEP,
            tolerance=factors_settings.TOTP_TOLERANCE,
        )
        device.set_key(key)
        device.save()
    uri = device.provisioning_uri()
    return TotpEnrollment(device=device, uri=uri, secret_b32=otp.b32(key), qr_svg=qr_svg(uri))


def factor_enroll_totp_confirm(*, user, device_id: str, token: str) -> VerifyResult:
    """Activate an unconfirmed TOTP device after one correct code."""
    if not str(device_id).startswith(TOTPDevice.model_label() + "/"):
        return VerifyResult(status=VerifyStatus.INVALID)
    with transaction.atomic():
        device = _lock_device(user=user, device_id=device_id, confirmed=False)
        if device is None:
            return VerifyResult(status=VerifyStatus.INVALID)
        result = _check_enrolling(device, token, None)
        if result.ok:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            _enroll_requirement_clear(user=user)
        return result


def factor_enroll_webauthn_complete(*, user, state, response, name: str) -> WebAuthnCredential:
    """Store a verified security key or passkey registration (raises ``webauthn.WebAuthnError``)."""
    from factors import webauthn

    with transaction.atomic():
        credential = webauthn.register_complete(user=user, state=state, response=response, name=name)
        _enroll_requirement_clear(user=user)
    return credential


def _enroll_requirement_clear(*, user) -> None:
    """Clear "must set up a sign-in method" once a strong factor is confirmed.

    Called inside the transaction that confirms the device, so the flag never clears for a device
    that did not stick, and never stays set for one that did. SMS and email codes do not clear it:
    an admin asks for a new method because those may be in someone else's hands.
    """
    get_user_model()._default_manager.filter(pk=user.pk, mfa_enrol_required_at__isnull=False).update(
        mfa_enrol_required_at=None
    )
    user.mfa_enrol_required_at = None


# --- Recovery codes -----------------------------------------------------------------------------


def format_recovery_code(raw: str) -> str:
    """Show a 16-character code in groups of four: ``ABCD-EFGH-IJKL-MNOP``."""
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def factor_recovery_codes_generate(*, user) -> list[str]:
    """Create a new set of recovery codes, voiding the old set; return them (shown once).

    Each code is 80 random bits as 16 base32 characters (ASVS 6.5.2: >= 64 bits), stored hashed.
    """
    count = factors_settings.RECOVERY_CODE_COUNT
    raw_codes = [otp.b32(seams.token_bytes(factors_settings.RECOVERY_CODE_BYTES)) for _ in range(count)]
    with transaction.atomic():
        device = RecoveryCodeDevice.objects.select_for_update().filter(user=user).order_by("pk").first()
        if device is None:
            device = RecoveryCodeDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        RecoveryCodeDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.codes.all().delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(device=device, code_hash=recovery_code_hasher.encode(c, recovery_code_hasher.salt()))
            for c in raw_codes
        )
        # A fresh set is a fresh start for the throttle too.
        device.throttle_reset()
    return [format_recovery_code(c) for c in raw_codes]


def recovery_codes_remaining(*, user) -> int:
    """Return how many unused recovery codes the user has."""
    return RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).count()


# --- Email and SMS codes ------------------------------------------------------------------------


def factor_email_enroll_begin(*, user, email: str | None = None, name: str = "Email") -> EmailDevice:
    """Create an unconfirmed email device (default: the account's address).

    Earlier unconfirmed email devices of the user are dropped.
    """
    with transaction.atomic():
        EmailDevice.objects.filter(user=user, confirmed=False).delete()
        return EmailDevice.objects.create(user=user, name=name[:64], email=email or user.email, confirmed=False)


def factor_account_email_device(*, user) -> EmailDevice:
    """Return the fallback device that emails codes to the account's own (verified) address.

    Used when a sign-in must be challenged and the user has no factor: the address was proven at
    sign-up, so codes sent there are the fallback. The device is internal (``account_fallback``):
    it is not one of the user's factors, and follows the account address when that changes.
    """
    with transaction.atomic():
        device = EmailDevice.objects.select_for_update().filter(user=user, account_fallback=True).first()
        if device is None:
            return EmailDevice.objects.create(
                user=user, name="Email to your account address", email=user.email, confirmed=True, account_fallback=True
            )
        if device.email != user.email or not device.confirmed:
            device.email, device.confirmed = user.email, True
            device.save(update_fields=["email", "confirmed"])
    return device


def factor_sms_enroll_begin(*, user, phone_number: str, name: str = "Phone") -> SMSDevice:
    """Create an unconfirmed SMS device; raise ValueError with a user-facing message.

    The number must be a valid mobile number in an allowed country calling code, and not one
    the user already has. Earlier unconfirmed SMS devices of the user are dropped, so one account
    cannot line up many numbers to text.
    """
    number = parse_phone_number(phone_number)
    if str(number.country_code) not in {str(c) for c in factors_settings.SMS_ALLOWED_CALLING_CODES}:
        raise ValueError(_("We can't send texts to numbers in that country."))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    with transaction.atomic():
        if SMSDevice.objects.filter(user=user, confirmed=True, phone_number=e164).exists():
            raise ValueError(_("You have already added that number."))
        SMSDevice.objects.filter(user=user, confirmed=False).delete()
        return SMSDevice.objects.create(
            user=user,
            name=name[:64],
            phone_number=e164,
            calling_code=number.country_code,
            confirmed=False,
        )


def _send_allowed_for_bind(device: CodeDevice, bind: str) -> bool:
    # An unconfirmed device only receives enrollment codes; a confirmed one only login codes.
    if device.confirmed:
        return not bind.startswith("enroll:")
    return bind == enrollment_bind(device)


def _void_code(model: type[CodeDevice], pk: int, token_hash: str) -> None:
    """Forget a code that could not be delivered, so the user can ask again at once."""
    with transaction.atomic():
        device = model.objects.select_for_update().filter(pk=pk).first()
        if device is not None and device.token_hash == token_hash:
            device.token_hash = ""
            device.valid_until = None
            device.last_generated_timestamp = None
            device.save(update_fields=["token_hash", "valid_until", "last_generated_timestamp"])


@dataclass(frozen=True)
class _CodeChannel:
    """What differs between emailing and texting a code; ``factor_send_code`` does the rest."""

    model: type[CodeDevice]
    name: str  # in log lines
    address: Callable[[CodeDevice], str]  # where the code goes (never logged)
    # A reason the device's destination may never get a code (checked before the cooldown).
    refusal: Callable[[CodeDevice], SendStatus | None]
    # Count one send against the caps of user, destination and client IP; False when over one.
    cap_take: Callable[[CodeDevice, int, str | None], bool]
    # Deliver ``code`` to the destination; raises one of ``delivery_errors`` when it cannot.
    deliver: Callable[[str, str], None]
    delivery_errors: tuple[type[BaseException], ...]
    delivery_error_detail: bool  # log the exception's traceback (else only its text)


def _email_deliver(address: str, code: str) -> None:
    minutes = factors_settings.CODE_VALIDITY_SECONDS // 60
    values = {"site": factors_settings.TOTP_ISSUER, "code": code, "minutes": minutes}
    send_mail(
        subject=_("Your %(site)s code") % values,
        message=ngettext(
            "Your code is %(code)s. It expires in %(minutes)d minute.",
            "Your code is %(code)s. It expires in %(minutes)d minutes.",
            minutes,
        )
        % values
        + "\n\n"
        + _("If you did not just try to sign in, someone knows your password: change it."),
        from_email=None,
        recipient_list=[address],
    )


def _sms_deliver(to: str, code: str) -> None:
    minutes = factors_settings.CODE_VALIDITY_SECONDS // 60
    body = ngettext(
        "%(code)s is your %(site)s code. It expires in %(minutes)d minute.",
        "%(code)s is your %(site)s code. It expires in %(minutes)d minutes.",
        minutes,
    ) % {"site": factors_settings.TOTP_ISSUER, "code": code, "minutes": minutes}
    send_sms(to=to, body=body)


def _sms_refusal(device: SMSDevice) -> SendStatus | None:
    allowed = {str(c) for c in factors_settings.SMS_ALLOWED_CALLING_CODES}
    return None if str(device.calling_code) in allowed else SendStatus.NOT_ALLOWED_COUNTRY


_CODE_CHANNELS = (
    _CodeChannel(
        model=EmailDevice,
        name="email code",
        address=lambda device: device.email,
        refusal=lambda device: None,
        cap_take=lambda device, user_id, client_ip: limits.email_send_allowed(
            user_id=user_id, address=device.email, client_ip=client_ip
        ),
        deliver=_email_deliver,
        # The mail backend may raise anything; fail closed with "try another way".
        delivery_errors=(Exception,),
        delivery_error_detail=True,
    ),
    _CodeChannel(
        model=SMSDevice,
        name="sms",
        address=lambda device: device.phone_number,
        refusal=_sms_refusal,
        cap_take=lambda device, user_id, client_ip: limits.sms_send_allowed(
            user_id=user_id, phone_number=device.phone_number, calling_code=device.calling_code, client_ip=client_ip
        ),
        deliver=_sms_deliver,
        delivery_errors=(SmsDeliveryError,),
        delivery_error_detail=False,
    ),
)


def factor_send_code(*, user, device_id: str, bind: str, client_ip: str | None = None) -> SendResult:
    """Email or text a new code bound to ``bind`` (pending-login id or ``enrollment_bind(device)``).

    Only an explicit call sends (never a page render), within the device's cooldown, the caps
    per user, destination and client IP (``FACTORS_EMAIL_CAPS`` / ``FACTORS_SMS_CAPS``) and, for
    texts, the allowed country calling codes. A delivery failure voids the code and is
    DELIVERY_FAILED: the page says "we couldn't send ...; choose another way".
    """
    channel = next((c for c in _CODE_CHANNELS if str(device_id).startswith(c.model.model_label() + "/")), None)
    if channel is None:
        return SendResult(status=SendStatus.NOT_USABLE)
    with transaction.atomic():
        device = _lock_device(user=user, device_id=device_id, confirmed=None)
        if device is None or not _send_allowed_for_bind(device, bind):
            return SendResult(status=SendStatus.NOT_USABLE)
        destination = device.masked_destination()
        refused = channel.refusal(device)
        if refused is not None:
            return SendResult(status=refused, destination=destination)
        left = device.cooldown_seconds_left()
        if left:
            return SendResult(status=SendStatus.COOLDOWN, seconds_left=left, destination=destination)
        if not channel.cap_take(device, user.pk, client_ip):
            logger.warning("%s send capped", channel.name, extra={"device": device.persistent_id})
            return SendResult(status=SendStatus.CAPPED, destination=destination)
        code = device.issue_code(bind=bind)
        token_hash, to = device.token_hash, channel.address(device)
    try:
        # In the account's language: a text or email read later, maybe on another device.
        with in_user_language(user):
            channel.deliver(to, code)
    except channel.delivery_errors as exc:
        if channel.delivery_error_detail:
            logger.warning("%s delivery failed", channel.name, extra={"device": device.persistent_id}, exc_info=True)
        else:
            logger.warning("%s delivery failed: %s", channel.name, exc, extra={"device": device.persistent_id})
        _void_code(channel.model, device.pk, token_hash)
        return SendResult(status=SendStatus.DELIVERY_FAILED, destination=destination)
    return SendResult(status=SendStatus.SENT, destination=destination)


def factor_enroll_code_confirm(*, user, device_id: str, code: str) -> VerifyResult:
    """Activate an unconfirmed email or SMS device with the code sent for its enrollment."""
    if not (
        str(device_id).startswith(EmailDevice.model_label() + "/")
        or str(device_id).startswith(SMSDevice.model_label() + "/")
    ):
        return VerifyResult(status=VerifyStatus.INVALID)
    with transaction.atomic():
        device = _lock_device(user=user, device_id=device_id, confirmed=False)
        if device is None:
            return VerifyResult(status=VerifyStatus.INVALID)
        result = _check_enrolling(device, code, enrollment_bind(device))
        if result.ok:
            device.confirmed = True
            fields = ["confirmed"]
            if isinstance(device, SMSDevice):
                device.verified_at = clock.now()
                fields.append("verified_at")
            device.save(update_fields=fields)
        return result


# --- Management ---------------------------------------------------------------------------------


def _get_device(*, user, device_id: str) -> FactorDevice | None:
    parsed = _parse_device_id(device_id)
    if parsed is None:
        return None
    model, pk = parsed
    # Only the user's factors are theirs to rename or remove (not the account-address fallback).
    return model.objects.filter(model.factor_filter, pk=pk, user=user).first()


# What a user is told when a device id is not one of theirs (or is not a device id at all).
NO_SUCH_DEVICE = gettext_noop("No such device.")  # translated where raised


def factor_rename(*, user, device_id: str, name: str) -> FactorDevice:
    """Rename one of the user's devices; raise ValueError for an empty name or unknown device."""
    name = " ".join(name.split())
    if not name:
        raise ValueError(_("Enter a name."))
    device = _get_device(user=user, device_id=device_id)
    if device is None:
        raise ValueError(_(NO_SUCH_DEVICE))
    device.name = name[:64]
    device.save(update_fields=["name"])
    return device


def factor_remove(*, user, device_id: str) -> FactorDevice:
    """Delete one of the user's devices; return it (unsaved) for the caller's notification."""
    device = _get_device(user=user, device_id=device_id)
    if device is None:
        raise ValueError(_(NO_SUCH_DEVICE))
    device.delete()
    return device


def factor_set_preferred(*, user, device_id: str) -> FactorDevice:
    """Make one confirmed device the user's preferred one (offered first at sign-in)."""
    with transaction.atomic():
        device = _lock_device(user=user, device_id=device_id, factors_only=True)
        if device is None:
            raise ValueError(_(NO_SUCH_DEVICE))
        for model in DEVICE_MODELS:
            model.objects.filter(user=user, preferred=True).update(preferred=False)
        device.preferred = True
        device.save(update_fields=["preferred"])
    return device


def user_factors(user) -> list[FactorDevice]:
    """Return the user's confirmed factors, strongest first, preferred first within a kind.

    The account-address fallback is not among them (see ``EmailDevice.account_fallback``).
    """
    devices: list[FactorDevice] = []
    for model in DEVICE_MODELS:
        devices.extend(
            model.objects.filter(model.factor_filter, user=user, confirmed=True).order_by("created_at", "pk")
        )
    return sorted(devices, key=sort_key)


def user_factor_summaries(user) -> list[FactorSummary]:
    """List the user's confirmed factors for the login framework (``LOGIN_FACTOR_INVENTORY``)."""
    return [
        FactorSummary(
            kind=d.factor_kind,
            id=d.persistent_id,
            usable=d.can_answer,
        )
        for d in user_factors(user)
    ]


def _counts_as_factor(device: FactorDevice) -> bool:
    # Recovery codes are a way back in, not a factor to plan a sign-in around; a phone number
    # counts once a code sent to it came back.
    return not isinstance(device, RecoveryCodeDevice) and device.can_answer


def user_has_factor(user, *, minimum: Requirement | str = Requirement.ANY) -> bool:
    """Tell whether the user has a confirmed second factor meeting ``minimum``."""
    return any(satisfies(d, minimum) for d in user_factors(user) if _counts_as_factor(d))


def user_challenge_devices(user) -> list[FactorDevice]:
    """Return the devices that may answer a sign-in challenge of ``user``.

    Their factors; for a user without one, also the account-address fallback once a login stage
    has made it (``factor_account_email_device``).
    """
    devices = user_factors(user)
    if not any(_counts_as_factor(d) for d in devices):
        devices.extend(EmailDevice.objects.filter(user=user, account_fallback=True, confirmed=True))
    return devices


def factor_reencrypt_secrets() -> int:
    """Re-encrypt every stored TOTP key with the newest key; return how many changed.

    Each device is saved in its own transaction. A secret that no configured key decrypts stops
    the run with ``crypto.InvalidToken`` naming the device (never the secret); the devices done
    before it keep their new encryption, and a run after the keys are fixed skips them.
    """
    changed = 0
    for pk in TOTPDevice.objects.order_by("pk").values_list("pk", flat=True).iterator():
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().get(pk=pk)
            if crypto.needs_reencrypt(device.encrypted_key):
                try:
                    device.encrypted_key = crypto.reencrypt(device.encrypted_key)
                except crypto.InvalidToken:
                    raise crypto.InvalidToken(
                        f"The secret of TOTPDevice pk={pk} cannot be decrypted with any key of "
                        f"FACTORS_ENCRYPTION_KEYS ({changed} secret(s) re-encrypted before it are saved)."
                    ) from None
                device.save(update_fields=["encrypted_key"])
                changed += 1
    return changed
