"""Management commands for support: mfa_status, mfa_reset, geoip_status."""

from __future__ import annotations

import tempfile
from io import StringIO
from pathlib import Path
from unittest import mock

from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings

from authsite.accounts.sessions_models import UserSession
from factors.models import RecoveryCodeDevice, TOTPDevice
from factors.services import factor_enroll_totp_begin, factor_recovery_codes_generate
from risk.geo import build_demo_databases
from tests.base import BrowserClient as Client
from tests.helpers import CacheClearingTestCase, make_user
from tests.risk.test_admin_and_controls import event, remembered


def run(*args, **kwargs) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **kwargs)
    return out.getvalue()


class MfaCommandTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user("bob@example.com")
        self.totp = factor_enroll_totp_begin(user=self.user, name="Phone app")
        TOTPDevice.objects.filter(pk=self.totp.device.pk).update(confirmed=True, throttling_failure_count=4)
        factor_recovery_codes_generate(user=self.user)

    def test_status_lists_factors_devices_and_sign_ins(self):
        from django.utils import timezone

        TOTPDevice.objects.filter(pk=self.totp.device.pk).update(throttling_failure_timestamp=timezone.now())
        remembered(self.user, label="Firefox on Linux")
        event(self.user)
        out = run("mfa_status", "BOB@example.com")
        self.assertIn("bob@example.com", out)
        self.assertIn("'Phone app'", out)
        self.assertIn("4 failure(s), locked until", out)
        self.assertIn("10 unused codes", out)
        self.assertIn("Firefox on Linux", out)
        self.assertIn("challenge_strong", out)
        self.assertIn("impossible_travel", out)
        self.assertNotIn(TOTPDevice.objects.get(pk=self.totp.device.pk).encrypted_key, out)

    def test_status_of_a_user_with_nothing(self):
        make_user("empty@example.com")
        out = run("mfa_status", "empty@example.com")
        self.assertEqual(out.count("  none"), 3)

    def test_unknown_user_and_bad_input(self):
        for command in ("mfa_status", "mfa_reset"):
            with self.subTest(command=command), self.assertRaisesMessage(CommandError, "No user with the email"):
                run(command, "nobody@example.com", "--yes") if command == "mfa_reset" else run(command, "nobody@x")
        with self.assertRaisesMessage(CommandError, "--events"):
            run("mfa_status", "bob@example.com", "--events", "-1")

    def test_reset_with_yes(self):
        client = Client()
        client.force_login(self.user)
        self.assertTrue(UserSession.objects.filter(user_id=self.user.pk).exists())
        out = run("mfa_reset", "bob@example.com", "--yes")
        self.assertIn("removed 2 factor(s)", out)
        self.assertIn("ended 1 session(s)", out)
        self.assertFalse(TOTPDevice.objects.filter(user=self.user).exists())
        self.assertFalse(RecoveryCodeDevice.objects.filter(user=self.user).exists())
        self.assertFalse(UserSession.objects.filter(user_id=self.user.pk).exists())
        self.assertFalse(client.get("/").wsgi_request.user.is_authenticated)
        self.assertEqual(mail.outbox[-1].to, ["bob@example.com"])
        # No request, and none needed: links are built on SITE_URL.
        self.assertIn(
            "Sign in again with your password at http://testserver/login/ and set up",
            mail.outbox[-1].body.replace("\n", " "),
        )

    def test_reset_requires_a_new_factor_at_the_next_sign_in(self):
        self.assertNotIn("Must set up a sign-in method", run("mfa_status", "bob@example.com"))
        run("mfa_reset", "bob@example.com", "--yes")
        self.user.refresh_from_db()
        self.assertIsNotNone(self.user.mfa_enrol_required_at)
        self.assertIn("Must set up a sign-in method at the next sign-in", run("mfa_status", "bob@example.com"))

    def test_reset_refuses_without_yes_when_not_interactive(self):
        with mock.patch("sys.stdin.isatty", return_value=False):
            with self.assertRaisesMessage(CommandError, "pass --yes"):
                run("mfa_reset", "bob@example.com")
        self.assertTrue(TOTPDevice.objects.filter(user=self.user).exists())

    def test_reset_asks_when_interactive(self):
        with mock.patch("sys.stdin.isatty", return_value=True), mock.patch("builtins.input", return_value="no"):
            with self.assertRaisesMessage(CommandError, "Cancelled"):
                run("mfa_reset", "bob@example.com")
        self.assertTrue(TOTPDevice.objects.filter(user=self.user).exists())
        with mock.patch("sys.stdin.isatty", return_value=True), mock.patch("builtins.input", return_value="yes"):
            self.assertIn("Reset MFA", run("mfa_reset", "bob@example.com"))
        self.assertFalse(TOTPDevice.objects.filter(user=self.user).exists())

    def test_end_of_input_or_interrupt_at_the_prompt_cancels(self):
        for interruption in (EOFError, KeyboardInterrupt):
            with self.subTest(interruption=interruption.__name__):
                with (
                    mock.patch("sys.stdin.isatty", return_value=True),
                    mock.patch("builtins.input", side_effect=interruption),
                    self.assertRaisesMessage(CommandError, "Cancelled: nothing was reset"),
                ):
                    run("mfa_reset", "bob@example.com")
                self.assertEqual(TOTPDevice.objects.filter(user=self.user).count(), 1)
                self.assertTrue(RecoveryCodeDevice.objects.filter(user=self.user).exists())
                self.assertEqual(len(mail.outbox), 0)

    def test_help(self):
        for command in ("mfa_status", "mfa_reset", "geoip_status"):
            with self.subTest(command=command):
                out = StringIO()
                with mock.patch("sys.stdout", out), self.assertRaises(SystemExit):
                    call_command(command, "--help")
                self.assertIn("usage:", out.getvalue())


class GeoipStatusTests(CacheClearingTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.city, cls.asn = build_demo_databases(cls.tmp.name)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()
        super().tearDownClass()

    def test_not_configured(self):
        with override_settings(RISK_GEOIP_CITY_DB=None, RISK_GEOIP_ASN_DB=None):
            out = run("geoip_status")
        self.assertIn("City: not configured", out)
        self.assertIn("ASN: not configured", out)

    def test_configured_and_readable(self):
        with override_settings(RISK_GEOIP_CITY_DB=str(self.city), RISK_GEOIP_ASN_DB=str(self.asn)):
            out = run("geoip_status")
        self.assertIn("type GeoLite2-City", out)
        self.assertIn("type GeoLite2-ASN", out)
        self.assertIn("Lookup 192.0.2.10: Oslo, Oslo, NO; AS64500 Demo Fjord Broadband", out)

    def test_missing_file(self):
        with override_settings(RISK_GEOIP_CITY_DB=str(Path(self.tmp.name) / "gone.mmdb"), RISK_GEOIP_ASN_DB=None):
            with self.assertRaisesMessage(CommandError, "does not exist"):
                run("geoip_status")

    def test_corrupt_file(self):
        bad = Path(self.tmp.name) / "bad.mmdb"
        bad.write_bytes(b"not a maxmind database" * 10)
        with override_settings(RISK_GEOIP_CITY_DB=str(self.city), RISK_GEOIP_ASN_DB=str(bad)):
            with self.assertRaisesMessage(CommandError, "cannot be read"):
                run("geoip_status")
