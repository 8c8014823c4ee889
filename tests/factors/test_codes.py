"""Email and SMS codes: 6 digits, 10 minutes, single use, bound to a context, cooldown, failures."""

from __future__ import annotations

import re
from unittest import mock

from django.core import mail
from django.test import override_settings
from django_otp.models import GenerateNotAllowed, VerifyNotAllowed

from factors.models import EmailDevice, SMSDevice
from factors.services import (
    SendStatus,
    VerifyStatus,
    enrollment_bind,
    factor_email_enroll_begin,
    factor_enroll_code_confirm,
    factor_send_code,
    factor_sms_enroll_begin,
    factor_verify,
    user_has_factor,
)
from factors.sms.backends import locmem
from tests.base import TestCase
from tests.factors.base import FactorsTestMixin, wrong_code
from tests.helpers import BROKEN_MAILER, make_user, unique_email

LOGIN_A = "pending-login-a"
LOGIN_B = "pending-login-b"


def last_email_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def last_sms_code() -> str:
    return re.search(r"\b(\d{6})\b", locmem.outbox[-1].body).group(1)


class CodeContractTests:
    """What every emailed or texted code holds (ASVS 6.5.1, 6.5.4, 6.5.5, 6.6.3).

    The channel's test case sets up a confirmed ``self.device`` of ``self.user`` and says how a
    code is sent and read (``send``, ``last_code``).
    """

    def verify(self, code: str, bind: str = LOGIN_A):
        return factor_verify(device_id=self.device.persistent_id, user=self.user, response=code, bind=bind)

    def test_valid_for_ten_minutes_not_one_second_more(self):
        self.assertEqual(self.send().status, SendStatus.SENT)
        code = self.last_code()
        self.assertRegex(code, r"^\d{6}$")
        self.clock.advance(600)
        self.assertEqual(self.verify(code).status, VerifyStatus.OK)
        self.clock.advance(60)
        self.assertEqual(self.send(LOGIN_B).status, SendStatus.SENT)
        late = self.last_code()
        self.clock.advance(601)
        self.assertEqual(self.verify(late, LOGIN_B).status, VerifyStatus.INVALID)

    def test_single_use(self):
        self.send()
        code = self.last_code()
        self.assertEqual(self.verify(code).status, VerifyStatus.OK)
        self.assertEqual(self.verify(code).status, VerifyStatus.INVALID)
        self.clock.advance(5)
        self.assertEqual(self.verify(code).status, VerifyStatus.INVALID)

    def test_two_instances_of_one_device_accept_a_code_once(self):
        """The concurrent-request case: both requests loaded the device before either saved it."""
        with mock.patch("factors.seams.random_digits", return_value="246802"):
            self.send()
        first = type(self.device).objects.get(pk=self.device.pk)
        second = type(self.device).objects.get(pk=self.device.pk)
        self.assertEqual(first.check_token("246802", bind=LOGIN_A).value, "ok")
        self.assertEqual(second.check_token("246802", bind=LOGIN_A).value, "invalid")

    def test_new_code_does_not_reset_the_failure_count(self):
        self.send()
        for _ in range(3):
            self.assertEqual(self.verify("000000").status, VerifyStatus.INVALID)
            self.clock.advance(60)
        self.device.refresh_from_db()
        self.assertEqual(self.device.throttling_failure_count, 3)
        self.assertEqual(self.send().status, SendStatus.SENT)
        self.device.refresh_from_db()
        self.assertEqual(self.device.throttling_failure_count, 3)
        # The back-off continues where it was: 2 ** 3 = 8 s after the next failure.
        self.assertEqual(self.verify("000000").status, VerifyStatus.INVALID)
        result = self.verify(self.last_code())
        self.assertEqual(result.status, VerifyStatus.THROTTLED)
        self.assertEqual(result.seconds_left, 8)
        allowed, data = result.device.verify_is_allowed()
        self.assertFalse(allowed)
        self.assertEqual(data["reason"], VerifyNotAllowed.N_FAILED_ATTEMPTS)
        self.assertEqual(data["failure_count"], 4)


class EmailCodeTests(CodeContractTests, FactorsTestMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())
        device = factor_email_enroll_begin(user=self.user)
        sent = factor_send_code(user=self.user, device_id=device.persistent_id, bind=enrollment_bind(device))
        self.assertEqual(sent.status, SendStatus.SENT)
        confirmed = factor_enroll_code_confirm(user=self.user, device_id=device.persistent_id, code=last_email_code())
        self.assertEqual(confirmed.status, VerifyStatus.OK)
        self.device = EmailDevice.objects.get(pk=device.pk)
        self.assertTrue(self.device.confirmed)
        mail.outbox.clear()

    def send(self, bind: str = LOGIN_A):
        return factor_send_code(user=self.user, device_id=self.device.persistent_id, bind=bind)

    def last_code(self) -> str:
        return last_email_code()

    def test_code_is_six_digits_sent_to_the_address_and_stored_hashed(self):
        result = self.send()
        self.assertEqual(result.status, SendStatus.SENT)
        self.assertEqual(result.destination, "u***@example.com")
        self.assertEqual(mail.outbox[-1].to, [self.user.email])
        code = last_email_code()
        self.assertRegex(code, r"^\d{6}$")
        self.device.refresh_from_db()
        self.assertNotIn(code, self.device.token_hash)
        self.assertEqual(len(self.device.token_hash), 64)

    def test_code_for_one_login_fails_in_another_and_in_enrollment(self):
        self.send(LOGIN_A)
        code = last_email_code()
        self.assertEqual(self.verify(code, bind=LOGIN_B).status, VerifyStatus.INVALID)
        self.clock.advance(1)
        self.assertEqual(self.verify(code, bind=enrollment_bind(self.device)).status, VerifyStatus.INVALID)
        self.clock.advance(2)
        self.assertEqual(self.verify(code, bind=None).status, VerifyStatus.INVALID)
        self.clock.advance(4)
        self.assertEqual(self.verify(code, bind=LOGIN_A).status, VerifyStatus.OK)

    def test_enrollment_code_does_not_work_for_login_and_vice_versa(self):
        other = factor_email_enroll_begin(user=self.user, email="second@example.com")
        factor_send_code(user=self.user, device_id=other.persistent_id, bind=enrollment_bind(other))
        code = last_email_code()
        # An unconfirmed device is not usable for sign-in at all.
        result = factor_verify(
            device_id=other.persistent_id, user=self.user, response=code, bind=enrollment_bind(other)
        )
        self.assertEqual(result.status, VerifyStatus.INVALID)
        # A confirmed device does not get enrollment codes, an unconfirmed one no login codes.
        self.assertEqual(self.send(enrollment_bind(self.device)).status, SendStatus.NOT_USABLE)
        login_send = factor_send_code(user=self.user, device_id=other.persistent_id, bind=LOGIN_A)
        self.assertEqual(login_send.status, SendStatus.NOT_USABLE)

    def test_cooldown_between_sends(self):
        self.assertEqual(self.send().status, SendStatus.SENT)
        self.clock.advance(20)
        result = self.send()
        self.assertEqual(result.status, SendStatus.COOLDOWN)
        self.assertEqual(result.seconds_left, 40)
        self.device.refresh_from_db()
        allowed, data = self.device.generate_is_allowed()
        self.assertFalse(allowed)
        self.assertEqual(data["reason"], GenerateNotAllowed.COOLDOWN_DURATION_PENDING)
        self.assertEqual(len(mail.outbox), 1)
        self.clock.advance(40)
        self.assertEqual(self.send().status, SendStatus.SENT)

    def test_new_code_replaces_the_previous_one(self):
        self.send()
        first = last_email_code()
        self.clock.advance(60)
        self.send()
        second = last_email_code()
        if first != second:
            self.assertEqual(self.verify(first).status, VerifyStatus.INVALID)
            self.clock.advance(1)
        self.assertEqual(self.verify(second).status, VerifyStatus.OK)

    def test_delivery_failure_voids_the_code_and_allows_another_way(self):
        with (
            override_settings(MAILERS=BROKEN_MAILER),
            mock.patch("factors.seams.random_digits", return_value="424242"),
            self.assertLogs("factors", "WARNING") as logs,
        ):
            result = self.send()
        self.assertEqual(result.status, SendStatus.DELIVERY_FAILED)
        self.assertNotIn("424242", "\n".join(logs.output))
        self.device.refresh_from_db()
        self.assertEqual(self.device.token_hash, "")
        self.assertEqual(self.send().status, SendStatus.SENT)


class SmsCodeTests(FactorsTestMixin, TestCase):
    number = "+447911123456"

    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())
        self.device = factor_sms_enroll_begin(user=self.user, phone_number="+44 7911 123456")

    def send(self, bind: str, ip: str = "198.51.100.7"):
        return factor_send_code(user=self.user, device_id=self.device.persistent_id, bind=bind, client_ip=ip)

    def enroll(self):
        self.assertEqual(self.send(enrollment_bind(self.device)).status, SendStatus.SENT)
        result = factor_enroll_code_confirm(user=self.user, device_id=self.device.persistent_id, code=last_sms_code())
        self.assertEqual(result.status, VerifyStatus.OK)
        self.device.refresh_from_db()
        self.clock.advance(60)

    def test_number_is_stored_in_e164_with_its_country_code(self):
        self.assertEqual(self.device.phone_number, self.number)
        self.assertEqual(self.device.calling_code, 44)
        self.assertFalse(self.device.confirmed)
        self.assertFalse(self.device.verified)

    def confirm(self, code: str):
        return factor_enroll_code_confirm(user=self.user, device_id=self.device.persistent_id, code=code)

    def test_confirming_the_number_takes_the_right_code_right_after_a_wrong_one(self):
        self.send(enrollment_bind(self.device))
        self.assertEqual(self.confirm(wrong_code(last_sms_code())).status, VerifyStatus.INVALID)
        self.assertEqual(self.confirm(last_sms_code()).status, VerifyStatus.OK)
        self.device.refresh_from_db()
        self.assertTrue(self.device.verified)

    def test_confirming_the_number_stops_after_a_few_wrong_codes(self):
        from factors.models import ENROLL_MAX_FAILURES

        self.send(enrollment_bind(self.device))
        right = last_sms_code()
        statuses = [self.confirm(wrong_code(right)).status for _ in range(ENROLL_MAX_FAILURES)]
        self.assertEqual(statuses, [VerifyStatus.INVALID] * (ENROLL_MAX_FAILURES - 1) + [VerifyStatus.RESTART])
        # The number must be entered again (and a new code sent): the old code confirms nothing.
        self.assertEqual(self.confirm(right).status, VerifyStatus.INVALID)
        self.assertFalse(SMSDevice.objects.filter(user=self.user).exists())

    def test_invalid_premium_and_disallowed_numbers_are_refused(self):
        for raw in ("12345", "not a number", "+447700900123", "+19005551234"):
            with self.subTest(raw=raw), self.assertRaises(ValueError):
                factor_sms_enroll_begin(user=self.user, phone_number=raw)
        with self.assertRaisesMessage(ValueError, "that country"):
            factor_sms_enroll_begin(user=self.user, phone_number="+2348031234567")

    def test_one_pending_enrollment_and_no_duplicate_numbers(self):
        second = factor_sms_enroll_begin(user=self.user, phone_number="+447911123457")
        self.assertEqual(list(SMSDevice.objects.filter(user=self.user)), [second])
        self.device = second
        self.enroll()
        with self.assertRaisesMessage(ValueError, "already added"):
            factor_sms_enroll_begin(user=self.user, phone_number="+44 7911 123457")
        # Another user may add the same number (a shared phone); the caps still apply per number.
        other = factor_sms_enroll_begin(user=make_user(unique_email()), phone_number="+447911123457")
        self.assertEqual(other.phone_number, "+447911123457")

    def test_usable_only_after_a_verified_code(self):
        self.assertEqual(self.send(LOGIN_A).status, SendStatus.NOT_USABLE)
        self.assertFalse(user_has_factor(self.user))
        self.enroll()
        self.assertTrue(self.device.verified)
        self.assertIsNotNone(self.device.verified_at)
        self.assertTrue(user_has_factor(self.user))
        self.assertEqual(self.send(LOGIN_A).status, SendStatus.SENT)
        self.assertEqual(locmem.outbox[-1].to, self.number)
        result = factor_verify(
            device_id=self.device.persistent_id, user=self.user, response=last_sms_code(), bind=LOGIN_A
        )
        self.assertEqual(result.status, VerifyStatus.OK)
        self.assertEqual(result.factor_kind, "sms")

    def test_expiry_and_binding(self):
        self.enroll()
        self.send(LOGIN_A)
        code = last_sms_code()
        self.assertEqual(
            factor_verify(device_id=self.device.persistent_id, user=self.user, response=code, bind=LOGIN_B).status,
            VerifyStatus.INVALID,
        )
        self.clock.advance(601)
        self.assertEqual(
            factor_verify(device_id=self.device.persistent_id, user=self.user, response=code, bind=LOGIN_A).status,
            VerifyStatus.INVALID,
        )

    def test_enrollment_code_fails_for_login(self):
        self.send(enrollment_bind(self.device))
        code = last_sms_code()
        self.device.confirmed = True  # even if the device were confirmed meanwhile
        self.device.verified_at = self.clock()
        self.device.save()
        result = factor_verify(device_id=self.device.persistent_id, user=self.user, response=code, bind=LOGIN_A)
        self.assertEqual(result.status, VerifyStatus.INVALID)

    def test_delivery_failure_is_one_status(self):
        self.enroll()
        locmem.SmsBackend.fail = True
        with (
            mock.patch("factors.seams.random_digits", return_value="424242"),
            self.assertLogs("factors", "WARNING") as logs,
        ):
            result = self.send(LOGIN_A)
        self.assertEqual(result.status, SendStatus.DELIVERY_FAILED)
        self.assertNotIn("424242", "\n".join(logs.output))
        self.device.refresh_from_db()
        self.assertEqual(self.device.token_hash, "")
        self.assertIsNone(self.device.last_generated_timestamp)

    def test_message_mentions_the_site_and_the_code_only(self):
        self.enroll()
        self.send(LOGIN_A)
        body = locmem.outbox[-1].body
        self.assertIn("Test Site", body)
        self.assertNotIn("http", body)
        self.assertEqual(len(re.findall(r"\d{6}", body)), 1)


class ConfirmedSmsCodeTests(CodeContractTests, FactorsTestMixin, TestCase):
    """The code contract for text messages, on a verified number."""

    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())
        self.device = factor_sms_enroll_begin(user=self.user, phone_number="+44 7911 123456")
        self.assertEqual(self.send(enrollment_bind(self.device)).status, SendStatus.SENT)
        confirmed = factor_enroll_code_confirm(
            user=self.user, device_id=self.device.persistent_id, code=last_sms_code()
        )
        self.assertEqual(confirmed.status, VerifyStatus.OK)
        self.device.refresh_from_db()
        self.clock.advance(60)

    def send(self, bind: str = LOGIN_A):
        return factor_send_code(
            user=self.user, device_id=self.device.persistent_id, bind=bind, client_ip="198.51.100.7"
        )

    def last_code(self) -> str:
        return last_sms_code()
