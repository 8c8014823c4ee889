"""TOTP devices: enrollment, tolerance, replay, throttling, encryption at rest."""

from __future__ import annotations

import base64
import urllib.parse

from django.db import connection

from factors import otp
from factors.models import TOTPDevice
from factors.services import (
    VerifyStatus,
    factor_enroll_totp_begin,
    factor_enroll_totp_confirm,
    factor_verify,
)
from tests.base import TestCase
from tests.factors.base import FactorsTestMixin
from tests.helpers import make_user, unique_email


class TotpTestCase(FactorsTestMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())

    def enrolled(self) -> TOTPDevice:
        enrollment = factor_enroll_totp_begin(user=self.user)
        device = enrollment.device
        result = factor_enroll_totp_confirm(user=self.user, device_id=device.persistent_id, token=self.code(device))
        self.assertEqual(result.status, VerifyStatus.OK)
        # Move well past the enrollment code's step, so every step in the window is unused.
        self.clock.advance(90)
        device.refresh_from_db()
        return device

    def code(self, device: TOTPDevice, offset_steps: int = 0) -> str:
        t = otp.time_step(self.clock(), step=device.step) + offset_steps
        return otp.hotp(device.bin_key, t, digits=device.digits)

    def verify(self, device: TOTPDevice, token: str):
        return factor_verify(device_id=device.persistent_id, user=self.user, response=token)


class TotpEnrollmentTests(TotpTestCase):
    def test_new_device_is_unconfirmed_until_a_correct_code(self):
        enrollment = factor_enroll_totp_begin(user=self.user)
        device = enrollment.device
        self.assertFalse(device.confirmed)
        # An unconfirmed device cannot be used to sign in.
        self.assertEqual(self.verify(device, self.code(device)).status, VerifyStatus.INVALID)
        wrong = factor_enroll_totp_confirm(user=self.user, device_id=device.persistent_id, token="000000")
        self.assertEqual(wrong.status, VerifyStatus.INVALID)
        device.refresh_from_db()
        self.assertFalse(device.confirmed)
        # The right code right after a wrong one: enrollment has no back-off (the clock stands still).
        ok = factor_enroll_totp_confirm(user=self.user, device_id=device.persistent_id, token=self.code(device))
        self.assertEqual(ok.status, VerifyStatus.OK)
        device.refresh_from_db()
        self.assertTrue(device.confirmed)

    def test_enrollment_takes_a_few_wrong_codes_then_must_start_again(self):
        from factors.models import ENROLL_MAX_FAILURES

        device = factor_enroll_totp_begin(user=self.user).device
        for attempt in range(1, ENROLL_MAX_FAILURES):
            wrong = factor_enroll_totp_confirm(user=self.user, device_id=device.persistent_id, token="000000")
            self.assertEqual(wrong.status, VerifyStatus.INVALID, f"attempt {attempt}")
        last = factor_enroll_totp_confirm(user=self.user, device_id=device.persistent_id, token="000000")
        self.assertEqual(last.status, VerifyStatus.RESTART)
        self.assertFalse(TOTPDevice.objects.filter(pk=device.pk).exists())
        # The key the user was shown is gone with it: its right code no longer turns anything on.
        late = factor_enroll_totp_confirm(user=self.user, device_id=device.persistent_id, token=self.code(device))
        self.assertEqual(late.status, VerifyStatus.INVALID)
        self.assertFalse(TOTPDevice.objects.filter(user=self.user).exists())

    def test_sign_in_keeps_its_back_off(self):
        device = self.enrolled()
        self.assertEqual(self.verify(device, "000000").status, VerifyStatus.INVALID)
        self.assertEqual(self.verify(device, self.code(device)).status, VerifyStatus.THROTTLED)

    def test_provisioning_uri_and_qr(self):
        enrollment = factor_enroll_totp_begin(user=self.user)
        parsed = urllib.parse.urlparse(enrollment.uri)
        params = urllib.parse.parse_qs(parsed.query)
        self.assertEqual(parsed.scheme, "otpauth")
        self.assertEqual(parsed.netloc, "totp")
        self.assertEqual(params["issuer"], ["Test Site"])
        self.assertEqual(params["secret"], [enrollment.secret_b32])
        self.assertIn(urllib.parse.quote(self.user.email), parsed.path)
        self.assertTrue(enrollment.qr_svg.startswith("<svg"))
        self.assertNotIn("http://", enrollment.qr_svg.replace("http://www.w3.org", ""))

    def test_secret_is_160_bits_from_the_csprng_and_unique(self):
        first = factor_enroll_totp_begin(user=self.user).device
        other = factor_enroll_totp_begin(user=make_user(unique_email())).device
        self.assertEqual(len(first.bin_key), 20)
        self.assertNotEqual(first.bin_key, other.bin_key)

    def test_secret_not_stored_in_clear(self):
        enrollment = factor_enroll_totp_begin(user=self.user)
        key = enrollment.device.bin_key
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {TOTPDevice._meta.db_table} WHERE id = %s", [enrollment.device.pk])
            row = cursor.fetchone()
        raw = " ".join(str(v) for v in row)
        for form in (key.hex(), key.hex().upper(), enrollment.secret_b32, base64.b64encode(key).decode()):
            self.assertNotIn(form, raw)
        self.assertNotIn(key, b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in row))

    def test_starting_again_drops_abandoned_enrollments(self):
        factor_enroll_totp_begin(user=self.user)
        factor_enroll_totp_begin(user=self.user)
        self.assertEqual(TOTPDevice.objects.filter(user=self.user, confirmed=False).count(), 1)


class TotpVerifyTests(TotpTestCase):
    def test_current_code_accepted_once(self):
        device = self.enrolled()
        code = self.code(device)
        self.assertEqual(self.verify(device, code).status, VerifyStatus.OK)
        self.assertEqual(self.verify(device, code).status, VerifyStatus.REPLAY)

    def test_one_step_either_side_accepted_two_steps_ago_refused(self):
        device = self.enrolled()
        self.assertEqual(self.verify(device, self.code(device, -2)).status, VerifyStatus.INVALID)
        self.clock.advance(1)
        self.assertEqual(self.verify(device, self.code(device, -1)).status, VerifyStatus.OK)
        self.clock.advance(30)
        self.assertEqual(self.verify(device, self.code(device, +1)).status, VerifyStatus.OK)

    def test_older_step_than_last_accepted_is_a_replay(self):
        device = self.enrolled()
        previous = self.code(device, -1)
        self.assertEqual(self.verify(device, self.code(device)).status, VerifyStatus.OK)
        # The previous step is within tolerance but older than the accepted one.
        self.assertEqual(self.verify(device, previous).status, VerifyStatus.REPLAY)
        device.refresh_from_db()
        self.assertEqual(device.throttling_failure_count, 1)

    def test_success_records_last_used_and_step(self):
        device = self.enrolled()
        result = self.verify(device, self.code(device))
        self.assertTrue(result.ok)
        self.assertEqual(result.factor_kind, "totp")
        device.refresh_from_db()
        self.assertEqual(device.last_used_at, self.clock())
        self.assertEqual(device.last_t, otp.time_step(self.clock()))

    def test_exponential_back_off(self):
        device = self.enrolled()
        expected_waits = [1, 2, 4, 8, 16]
        for failures, wait in enumerate(expected_waits, start=1):
            self.assertEqual(self.verify(device, "000000").status, VerifyStatus.INVALID)
            result = self.verify(device, self.code(device))
            # Even the right code is refused while throttled, and is not counted as a failure.
            self.assertEqual(result.status, VerifyStatus.THROTTLED)
            self.assertEqual(result.seconds_left, wait)
            device.refresh_from_db()
            self.assertEqual(device.throttling_failure_count, failures)
            self.clock.advance(wait - 1)
            self.assertEqual(self.verify(device, self.code(device)).status, VerifyStatus.THROTTLED)
            self.clock.advance(1)
        self.assertEqual(self.verify(device, self.code(device)).status, VerifyStatus.OK)
        device.refresh_from_db()
        self.assertEqual(device.throttling_failure_count, 0)

    def test_device_of_another_user_is_not_found(self):
        device = self.enrolled()
        other = make_user(unique_email())
        result = factor_verify(device_id=device.persistent_id, user=other, response=self.code(device))
        self.assertEqual(result.status, VerifyStatus.INVALID)
        self.assertIsNone(result.device)

    def test_malformed_device_ids_are_invalid(self):
        for device_id in (
            "",
            "nonsense",
            "auth.user/1",
            "factors.totpdevice/x",
            "otp_totp.totpdevice/1",
            "factors.totpdevice/²",
            "factors.totpdevice/" + "9" * 30,
            "factors.totpdevice/-1",
        ):
            with self.subTest(device_id=device_id):
                result = factor_verify(device_id=device_id, user=self.user, response="123456")
                self.assertEqual(result.status, VerifyStatus.INVALID)

    def test_verify_token_protocol_of_django_otp(self):
        device = self.enrolled()
        self.assertTrue(device.verify_token(self.code(device)))
        self.assertFalse(device.verify_token(self.code(device)))


class StaleInstanceTests(TotpTestCase):
    """Single use holds in the database itself, not only through the row lock."""

    def test_two_instances_of_one_device_accept_a_code_once(self):
        device = self.enrolled()
        first = TOTPDevice.objects.get(pk=device.pk)
        second = TOTPDevice.objects.get(pk=device.pk)  # loaded before the first one is used
        code = self.code(device)
        self.assertEqual(first.check_token(code).value, "ok")
        self.assertEqual(second.check_token(code).value, "replay")
        device.refresh_from_db()
        self.assertEqual(device.throttling_failure_count, 1)

    def test_failures_from_stale_instances_are_all_counted(self):
        device = self.enrolled()
        stale = [TOTPDevice.objects.get(pk=device.pk) for _ in range(3)]
        for instance in stale:
            self.assertEqual(instance.check_token("000000").value, "invalid")
        device.refresh_from_db()
        self.assertEqual(device.throttling_failure_count, 3)
