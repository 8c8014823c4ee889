"""Encryption at rest: round trip, key rotation, development fallback, system checks."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from factors import crypto
from factors.checks import check_factors_deploy, check_factors_settings
from factors.models import TOTPDevice
from factors.services import factor_enroll_totp_begin, factor_reencrypt_secrets
from tests.base import SimpleTestCase, TestCase
from tests.factors.base import OTHER_KEY, TEST_KEY, FactorsTestMixin
from tests.helpers import make_user, unique_email


@override_settings(FACTORS_ENCRYPTION_KEYS=[TEST_KEY])
class CryptoTests(SimpleTestCase):
    def test_round_trip_and_ciphertext_differs_each_time(self):
        a, b = crypto.encrypt(b"secret"), crypto.encrypt(b"secret")
        self.assertNotEqual(a, b)
        self.assertNotIn("secret", a)
        self.assertEqual(crypto.decrypt(a), b"secret")

    def test_tampered_token_refused(self):
        token = crypto.encrypt(b"secret")
        tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
        with self.assertRaises(InvalidToken):
            crypto.decrypt(tampered)

    def test_rotation_old_token_decrypts_after_new_key_is_added_first(self):
        old_token = crypto.encrypt(b"key material")
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY, TEST_KEY]):
            self.assertEqual(crypto.decrypt(old_token), b"key material")
            self.assertTrue(crypto.needs_reencrypt(old_token))
            new_token = crypto.reencrypt(old_token)
            self.assertFalse(crypto.needs_reencrypt(new_token))
            # The newest key alone now decrypts it.
            self.assertEqual(Fernet(OTHER_KEY).decrypt(new_token.encode()), b"key material")
            fresh = crypto.encrypt(b"x")
        # After dropping the old key, re-encrypted tokens still work; old ones do not.
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY]):
            self.assertEqual(crypto.decrypt(new_token), b"key material")
            self.assertEqual(crypto.decrypt(fresh), b"x")
            with self.assertRaises(InvalidToken):
                crypto.decrypt(old_token)

    def test_keys_may_come_as_a_comma_separated_string(self):
        with override_settings(FACTORS_ENCRYPTION_KEYS=f"{OTHER_KEY}, {TEST_KEY}"):
            self.assertEqual(crypto.configured_keys(), [OTHER_KEY.encode(), TEST_KEY.encode()])

    @override_settings(FACTORS_ENCRYPTION_KEYS=[], DEBUG=True, TESTING=False)
    def test_debug_without_keys_uses_key_derived_from_secret_key(self):
        token = crypto.encrypt(b"dev")
        dev_key = crypto.development_key()
        self.assertEqual(crypto.configured_keys(), [dev_key])
        self.assertEqual(Fernet(dev_key).decrypt(token.encode()), b"dev")
        # Derived from SECRET_KEY: another secret key cannot read it.
        with override_settings(SECRET_KEY="another-secret-key-" * 3):
            self.assertNotEqual(crypto.development_key(), dev_key)
            with self.assertRaises(InvalidToken):
                crypto.decrypt(token)

    @override_settings(FACTORS_ENCRYPTION_KEYS=[], DEBUG=False, TESTING=False)
    def test_production_without_keys_refuses(self):
        with self.assertRaises(ImproperlyConfigured):
            crypto.encrypt(b"x")
        ids = [e.id for e in check_factors_settings()]
        self.assertIn("factors.E001", ids)

    def test_system_checks(self):
        self.assertEqual(check_factors_settings(), [])
        with override_settings(FACTORS_ENCRYPTION_KEYS=["not-a-key"]):
            self.assertIn("factors.E002", [e.id for e in check_factors_settings()])
        with override_settings(FACTORS_SMS_BACKEND="twilio", FACTORS_TWILIO_ACCOUNT_SID=""):
            self.assertIn("factors.E003", [e.id for e in check_factors_settings()])
        with override_settings(FACTORS_SMS_BACKEND="console", FACTORS_WEBAUTHN_ORIGINS=["http://x.test"]):
            ids = [e.id for e in check_factors_deploy()]
            self.assertIn("factors.W002", ids)
            self.assertIn("factors.E006", ids)
        with override_settings(
            FACTORS_SMS_BACKEND="twilio",
            FACTORS_TWILIO_ACCOUNT_SID="AC123",
            FACTORS_TWILIO_AUTH_TOKEN="t",
            FACTORS_TWILIO_FROM_NUMBER="+15005550006",
            FACTORS_WEBAUTHN_ORIGINS=["https://example.com"],
        ):
            self.assertEqual(check_factors_settings() + check_factors_deploy(), [])

    def test_sms_backend_that_cannot_be_loaded_is_a_check_error(self):
        for backend in (
            "nonsense",
            "twillio",
            "factors.sms.backends.nosuch.SmsBackend",
            "factors.sms.backends.console.NoSuchClass",
            "factors.sms.base.SmsDeliveryError",  # importable, but not a backend
        ):
            with self.subTest(backend=backend), override_settings(FACTORS_SMS_BACKEND=backend):
                errors = [e for e in check_factors_settings() if e.id == "factors.E007"]
                self.assertEqual(len(errors), 1)
                self.assertIn("SMS_BACKEND", errors[0].msg)
                self.assertIn(repr(backend), errors[0].msg)
        for backend in ("console", "locmem", "factors.sms.backends.locmem.SmsBackend"):
            with self.subTest(backend=backend), override_settings(FACTORS_SMS_BACKEND=backend):
                self.assertNotIn("factors.E007", [e.id for e in check_factors_settings()])


class ReencryptServiceTests(FactorsTestMixin, TestCase):
    def test_reencrypt_all_totp_secrets_with_the_newest_key(self):
        user = make_user(unique_email())
        device = factor_enroll_totp_begin(user=user).device
        key = device.bin_key
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY, TEST_KEY]):
            self.assertEqual(factor_reencrypt_secrets(), 1)
            self.assertEqual(factor_reencrypt_secrets(), 0)
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY]):
            self.assertEqual(TOTPDevice.objects.get(pk=device.pk).bin_key, key)

    def test_management_command_reports_count(self):
        from io import StringIO

        from django.core.management import call_command

        factor_enroll_totp_begin(user=make_user(unique_email()))
        out = StringIO()
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY, TEST_KEY]):
            call_command("factors_reencrypt", stdout=out)
        self.assertIn("Re-encrypted 1 secret(s).", out.getvalue())

    def test_secret_no_key_decrypts_is_a_command_error_and_a_rerun_after_fixing_the_keys_works(self):
        from io import StringIO

        from django.core.management import CommandError, call_command

        lost_key = Fernet.generate_key().decode()
        first = factor_enroll_totp_begin(user=make_user("first@example.com")).device
        with override_settings(FACTORS_ENCRYPTION_KEYS=[lost_key]):
            second = factor_enroll_totp_begin(user=make_user("second@example.com")).device
            second_key = second.bin_key
        first_key = first.bin_key
        stored = {d.pk: d.encrypted_key for d in TOTPDevice.objects.all()}

        # The old key of the second device is missing: the first is done, the second is named.
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY, TEST_KEY]):
            with self.assertRaises(CommandError) as caught:
                call_command("factors_reencrypt", stdout=StringIO())
        message = str(caught.exception)
        self.assertIn(f"TOTPDevice pk={second.pk}", message)
        self.assertIn("FACTORS_ENCRYPTION_KEYS", message)
        self.assertIn("keep the old key after it", message)
        self.assertIn("1 secret(s) re-encrypted before it are saved", message)
        for secret in (stored[second.pk], second_key.hex(), stored[first.pk], first_key.hex()):
            self.assertNotIn(secret, message)
        self.assertNotEqual(TOTPDevice.objects.get(pk=first.pk).encrypted_key, stored[first.pk])
        self.assertEqual(TOTPDevice.objects.get(pk=second.pk).encrypted_key, stored[second.pk])

        # With the missing key put back after the new one, a second run finishes the job.
        out = StringIO()
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY, TEST_KEY, lost_key]):
            call_command("factors_reencrypt", stdout=out)
        self.assertIn("Re-encrypted 1 secret(s).", out.getvalue())
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY]):
            self.assertEqual(TOTPDevice.objects.get(pk=first.pk).bin_key, first_key)
            self.assertEqual(TOTPDevice.objects.get(pk=second.pk).bin_key, second_key)

    def test_replacing_the_key_instead_of_adding_it_changes_nothing(self):
        from io import StringIO

        from django.core.management import CommandError, call_command

        device = factor_enroll_totp_begin(user=make_user(unique_email())).device
        stored = TOTPDevice.objects.get(pk=device.pk).encrypted_key
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY]):
            with self.assertRaisesMessage(CommandError, f"TOTPDevice pk={device.pk}"):
                call_command("factors_reencrypt", stdout=StringIO())
        self.assertEqual(TOTPDevice.objects.get(pk=device.pk).encrypted_key, stored)
