"""Factor management services and the registry's strength rules."""

from __future__ import annotations

from datetime import timedelta

from factors.models import EmailDevice, RecoveryCodeDevice, SMSDevice, TOTPDevice, WebAuthnCredential
from factors.registry import FACTOR_TYPES, Requirement, Strength, satisfies, strength
from factors.services import (
    factor_enroll_totp_begin,
    factor_recovery_codes_generate,
    factor_remove,
    factor_rename,
    factor_set_preferred,
    user_factors,
    user_has_factor,
)
from factors.views.challenge import challenge_options
from tests.base import SimpleTestCase, TestCase
from tests.factors.base import FactorsTestMixin
from tests.helpers import make_user, unique_email


class RegistryTests(SimpleTestCase):
    def test_strength_order(self):
        order = sorted(FACTOR_TYPES, key=lambda kind: -strength(kind))
        self.assertEqual(order, ["webauthn", "totp", "sms", "email", "recovery"])
        self.assertEqual(strength("sms"), Strength.RESTRICTED)

    def test_sms_never_satisfies_a_strong_requirement(self):
        self.assertTrue(satisfies("sms", Requirement.ANY))
        self.assertFalse(satisfies("sms", Requirement.STRONG))
        self.assertFalse(satisfies("sms", "phishing_resistant"))

    def test_only_webauthn_is_phishing_resistant(self):
        resistant = [k for k in FACTOR_TYPES if satisfies(k, Requirement.PHISHING_RESISTANT)]
        self.assertEqual(resistant, ["webauthn"])
        strong = sorted(k for k in FACTOR_TYPES if satisfies(k, Requirement.STRONG))
        self.assertEqual(strong, ["totp", "webauthn"])

    def test_minimum_strength(self):
        self.assertFalse(satisfies("sms", Strength.APP))
        self.assertTrue(satisfies("sms", Strength.RESTRICTED))
        self.assertTrue(satisfies("totp", Strength.APP))
        self.assertFalse(satisfies("totp", Strength.PHISHING_RESISTANT))
        self.assertFalse(satisfies("recovery", Strength.EMAIL))
        self.assertTrue(satisfies("webauthn", Strength.PHISHING_RESISTANT))

    def test_unknown_requirement_is_an_error(self):
        with self.assertRaises(ValueError):
            satisfies("totp", "whatever")


class EveryKindMixin(FactorsTestMixin):
    """A user with one confirmed factor of every kind."""

    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())
        self.email = EmailDevice.objects.create(user=self.user, name="Email", email=self.user.email, confirmed=True)
        self.sms = SMSDevice.objects.create(
            user=self.user,
            name="Phone",
            phone_number="+447911123456",
            calling_code=44,
            confirmed=True,
            verified_at=self.clock(),
        )
        self.totp = factor_enroll_totp_begin(user=self.user).device
        self.totp.confirmed = True
        self.totp.save()
        factor_recovery_codes_generate(user=self.user)
        self.key = WebAuthnCredential.objects.create(
            user=self.user, name="Key", credential_id=b"\x01" * 16, credential_data=b"x", confirmed=True
        )


class ManagementTests(EveryKindMixin, TestCase):
    def test_user_factors_strongest_first_and_only_confirmed(self):
        factor_enroll_totp_begin(user=self.user)  # an unconfirmed second app is not listed
        kinds = [d.factor_kind for d in user_factors(self.user)]
        self.assertEqual(kinds, ["webauthn", "totp", "sms", "email", "recovery"])
        self.assertEqual(user_factors(make_user(unique_email())), [])

    def test_user_has_factor_by_requirement(self):
        self.assertTrue(user_has_factor(self.user, minimum=Requirement.PHISHING_RESISTANT))
        self.key.delete()
        self.assertFalse(user_has_factor(self.user, minimum=Requirement.PHISHING_RESISTANT))
        self.assertTrue(user_has_factor(self.user, minimum=Requirement.STRONG))
        self.totp.delete()
        self.assertFalse(user_has_factor(self.user, minimum=Requirement.STRONG))
        self.assertTrue(user_has_factor(self.user))

    def test_set_preferred_is_exclusive_across_kinds(self):
        factor_set_preferred(user=self.user, device_id=self.sms.persistent_id)
        factor_set_preferred(user=self.user, device_id=self.totp.persistent_id)
        preferred = [d.persistent_id for d in user_factors(self.user) if d.preferred]
        self.assertEqual(preferred, [self.totp.persistent_id])

    def test_preferred_first_within_a_kind(self):
        second = TOTPDevice(user=self.user, name="Second phone", confirmed=True)
        second.set_key(b"\x02" * 20)
        second.save()
        factor_set_preferred(user=self.user, device_id=second.persistent_id)
        totps = [d for d in user_factors(self.user) if d.factor_kind == "totp"]
        self.assertEqual(totps[0].pk, second.pk)

    def test_rename(self):
        device = factor_rename(user=self.user, device_id=self.sms.persistent_id, name="  Work   phone ")
        self.assertEqual(device.name, "Work phone")
        self.assertEqual(SMSDevice.objects.get(pk=self.sms.pk).name, "Work phone")
        with self.assertRaises(ValueError):
            factor_rename(user=self.user, device_id=self.sms.persistent_id, name="   ")

    def test_other_users_devices_cannot_be_managed(self):
        other = make_user(unique_email())
        for call in (
            lambda: factor_rename(user=other, device_id=self.sms.persistent_id, name="x"),
            lambda: factor_remove(user=other, device_id=self.sms.persistent_id),
            lambda: factor_set_preferred(user=other, device_id=self.sms.persistent_id),
        ):
            with self.assertRaises(ValueError):
                call()
        self.assertTrue(SMSDevice.objects.filter(pk=self.sms.pk, name="Phone").exists())

    def test_remove_returns_the_device_for_the_notification(self):
        removed = factor_remove(user=self.user, device_id=self.key.persistent_id)
        self.assertEqual((removed.factor_kind, removed.name), ("webauthn", "Key"))
        self.assertFalse(WebAuthnCredential.objects.filter(user=self.user).exists())
        self.assertNotIn("webauthn", [d.factor_kind for d in user_factors(self.user)])


class OfferOrderTests(EveryKindMixin, TestCase):
    """Which factor the challenge offers first (factors.registry.offer_key)."""

    def offered(self) -> list[str]:
        return [d.factor_kind for d in challenge_options(self.user, Requirement.ANY)]

    def used(self, device, hours_ago: float) -> None:
        type(device).objects.filter(pk=device.pk).update(last_used_at=self.clock() - timedelta(hours=hours_ago))

    def test_never_used_factors_offer_the_app_before_a_passkey_and_recovery_codes_last(self):
        self.assertEqual(self.offered(), ["totp", "webauthn", "sms", "email", "recovery"])

    def test_the_factor_used_last_comes_first(self):
        self.used(self.totp, hours_ago=48)
        self.used(self.key, hours_ago=1)
        self.assertEqual(self.offered(), ["webauthn", "totp", "sms", "email", "recovery"])
        # A recovery code used even more recently stays last: it is the way back in.
        self.used(RecoveryCodeDevice.objects.get(user=self.user), hours_ago=0)
        self.assertEqual(self.offered()[0], "webauthn")
        self.assertEqual(self.offered()[-1], "recovery")

    def test_the_preferred_factor_comes_first_whatever_was_used(self):
        self.used(self.key, hours_ago=1)
        factor_set_preferred(user=self.user, device_id=self.email.persistent_id)
        self.assertEqual(self.offered()[:2], ["email", "webauthn"])
