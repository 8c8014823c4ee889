"""Encryption at rest: round trip, key rotation, development fallback, system checks."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, TestCase, override_settings

from factors import crypto
from factors.checks import check_factors_deploy, check_factors_settings
from factors.models import TOTPDevice
from factors.services import factor_enroll_totp_begin, factor_reencrypt_secrets
from tests.factors.base import OTHER_KEY, TEST_KEY, FactorsTestMixin, make_user


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


class ReencryptServiceTests(FactorsTestMixin, TestCase):
    def test_reencrypt_all_totp_secrets_with_the_newest_key(self):
        user = make_user()
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

        factor_enroll_totp_begin(user=make_user())
        out = StringIO()
        with override_settings(FACTORS_ENCRYPTION_KEYS=[OTHER_KEY, TEST_KEY]):
            call_command("factors_reencrypt", stdout=out)
        self.assertIn("Re-encrypted 1 secret(s).", out.getvalue())
