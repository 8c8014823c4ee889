"""SMS send caps (per user, number, IP, country calling code; hour and day) and the country list."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from unittest import mock

from django.test import override_settings
from django.utils import timezone

from factors.models import EmailDevice, SMSDevice
from factors.services import SendStatus, factor_send_code
from factors.sms.backends import locmem
from tests.base import TestCase
from tests.factors.base import FactorsTestMixin
from tests.helpers import make_user, unique_email

NO_CAPS = {"user": {}, "number": {}, "ip": {}, "country": {}}


def verified_sms_device(user, number: str = "+447911123456", calling_code: int = 44) -> SMSDevice:
    return SMSDevice.objects.create(
        user=user,
        name="Phone",
        phone_number=number,
        calling_code=calling_code,
        confirmed=True,
        verified_at="2026-01-01T00:00:00Z",
    )


class SmsCapTests(FactorsTestMixin, TestCase):
    def send(self, device: SMSDevice, ip: str = "198.51.100.7"):
        result = factor_send_code(user=device.user, device_id=device.persistent_id, bind="login", client_ip=ip)
        # Step past the cooldown so only the caps decide the next send.
        self.clock.advance(61)
        return result.status

    @contextlib.contextmanager
    def caps(self, **scopes):
        """Apply only these caps; expect capped sends to be logged without the phone number."""
        with (
            override_settings(FACTORS_SMS_CAPS={**NO_CAPS, **scopes}),
            self.assertLogs("factors.services", "WARNING") as logs,
        ):
            yield
        output = "\n".join(logs.output)
        self.assertIn("sms send capped", output)
        self.assertNotIn("+44791", output)

    def test_per_user_hour_and_day(self):
        device = verified_sms_device(make_user(unique_email()))
        with self.caps(user={"hour": 2, "day": 3}):
            self.assertEqual(
                [self.send(device) for _ in range(3)], [SendStatus.SENT, SendStatus.SENT, SendStatus.CAPPED]
            )
            self.clock.advance(3600)
            self.assertEqual(self.send(device), SendStatus.SENT)
            self.assertEqual(self.send(device), SendStatus.CAPPED)  # day cap of 3 reached
            self.clock.advance(86400)
            self.assertEqual(self.send(device), SendStatus.SENT)
        self.assertEqual(len(locmem.outbox), 4)

    def test_per_number_across_users(self):
        first = verified_sms_device(make_user(unique_email()))
        second = verified_sms_device(make_user(unique_email()))
        with self.caps(number={"hour": 1}):
            self.assertEqual(self.send(first), SendStatus.SENT)
            self.assertEqual(self.send(second), SendStatus.CAPPED)
            other_number = verified_sms_device(make_user(unique_email()), number="+447911123457")
            self.assertEqual(self.send(other_number), SendStatus.SENT)

    def test_per_client_ip(self):
        devices = [verified_sms_device(make_user(unique_email()), number=f"+4479111234{i:02d}") for i in range(3)]
        with self.caps(ip={"hour": 2}):
            statuses = [self.send(d, ip="203.0.113.9") for d in devices]
            self.assertEqual(statuses, [SendStatus.SENT, SendStatus.SENT, SendStatus.CAPPED])
            self.assertEqual(self.send(devices[2], ip="203.0.113.10"), SendStatus.SENT)

    def test_sms_pumping_of_sequential_numbers_is_stopped_by_the_country_cap(self):
        # Many accounts, many IPs, sequential numbers in one country: only the country cap holds.
        with self.caps(user={"hour": 5}, number={"hour": 5}, ip={"hour": 5}, country={"hour": 10}):
            statuses = [
                self.send(
                    verified_sms_device(make_user(unique_email()), number=f"+4479111235{i:02d}"), ip=f"192.0.2.{i}"
                )
                for i in range(15)
            ]
        self.assertEqual(statuses.count(SendStatus.SENT), 10)
        self.assertEqual(statuses[10:], [SendStatus.CAPPED] * 5)
        self.assertEqual(len(locmem.outbox), 10)

    def test_refused_sends_do_not_use_up_other_counters(self):
        capped_user_device = verified_sms_device(make_user(unique_email()), number="+447911123460")
        with self.caps(user={"hour": 1}, ip={"hour": 2}):
            self.assertEqual(self.send(capped_user_device), SendStatus.SENT)
            for _ in range(5):
                self.assertEqual(self.send(capped_user_device), SendStatus.CAPPED)
            # The IP cap (2) still has room: the five refusals did not count against it.
            other = verified_sms_device(make_user(unique_email()), number="+447911123461")
            self.assertEqual(self.send(other), SendStatus.SENT)

    def test_country_allow_list(self):
        device = verified_sms_device(make_user(unique_email()))
        with override_settings(FACTORS_SMS_ALLOWED_CALLING_CODES=["1", "49"]):
            self.assertEqual(self.send(device), SendStatus.NOT_ALLOWED_COUNTRY)
        self.assertEqual(locmem.outbox, [])
        self.assertEqual(self.send(device), SendStatus.SENT)

    def test_cache_failure_fails_closed(self):
        device = verified_sms_device(make_user(unique_email()))
        with (
            mock.patch("authsite.accounts.caps.cache.get_many", side_effect=ConnectionError("redis down")),
            self.assertLogs("factors", "WARNING"),
        ):
            self.assertEqual(self.send(device), SendStatus.CAPPED)
        self.assertEqual(locmem.outbox, [])

    def test_cooldown_is_checked_before_caps(self):
        device = verified_sms_device(make_user(unique_email()))
        first = factor_send_code(user=device.user, device_id=device.persistent_id, bind="login", client_ip=None)
        second = factor_send_code(user=device.user, device_id=device.persistent_id, bind="login", client_ip=None)
        self.assertEqual(first.status, SendStatus.SENT)
        self.assertEqual(second.status, SendStatus.COOLDOWN)
        self.assertEqual(second.seconds_left, 60)


class EmailSendCapTests(FactorsTestMixin, TestCase):
    """Email codes are capped per user, address and client IP like texts (beyond the cooldown)."""

    def test_email_sends_stop_at_the_cap_and_fail_closed_without_the_cache(self):
        user = make_user(unique_email())
        device = EmailDevice.objects.create(user=user, name="Email", email=user.email, confirmed=True)
        caps = {"user": {"hour": 2, "day": 5}, "address": {"hour": 10, "day": 30}, "ip": {"hour": 10, "day": 30}}
        # A fixed moment in the middle of an hour: the caps count in clock-hour windows.
        start = timezone.now().replace(minute=20, second=0, microsecond=0)
        statuses = []
        with override_settings(FACTORS_EMAIL_CAPS=caps):
            for i in range(3):
                # Step past the 60 s cooldown each time: only the cap can refuse.
                with mock.patch("authsite.core.clock.now", return_value=start + timedelta(seconds=61 * i)):
                    statuses.append(
                        factor_send_code(
                            user=user, device_id=device.persistent_id, bind=f"login-{i}", client_ip="192.0.2.1"
                        ).status
                    )
        self.assertEqual(statuses, [SendStatus.SENT, SendStatus.SENT, SendStatus.CAPPED])
        with (
            mock.patch("authsite.accounts.caps.cache.get_many", side_effect=ConnectionError("redis down")),
            mock.patch("authsite.core.clock.now", return_value=start + timedelta(hours=2)),
        ):
            result = factor_send_code(user=user, device_id=device.persistent_id, bind="login-x")
        self.assertEqual(result.status, SendStatus.CAPPED)


class Ipv6CapTests(FactorsTestMixin, TestCase):
    def test_texts_from_one_ipv6_slash_64_share_the_per_ip_cap(self):
        with override_settings(FACTORS_SMS_CAPS={**NO_CAPS, "ip": {"hour": 2}}):
            statuses = []
            for i in range(3):
                device = verified_sms_device(make_user(f"u{i}@example.com"), number=f"+44791112345{i}")
                statuses.append(
                    factor_send_code(
                        user=device.user, device_id=device.persistent_id, bind="login", client_ip=f"2001:db8:5::{i + 1}"
                    ).status
                )
        self.assertEqual(statuses, [SendStatus.SENT, SendStatus.SENT, SendStatus.CAPPED])
