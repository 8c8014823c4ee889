"""OTP brute force spread over many pending logins, and SMS pumping through enrollment and challenge."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from django.utils import timezone

from factors import otp
from factors.conf import factors_settings
from factors.models import SMSDevice, TOTPDevice
from factors.sms.backends.locmem import outbox as sms_outbox
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user, totp_device
from tests.security.base import CHALLENGE

PLAIN_MFA = ["factors.stages.ChallengeStage"]


@override_settings(LOGIN_STAGES=PLAIN_MFA)
class OtpBruteForceTests(CacheClearingTestCase):
    def test_wrong_codes_over_20_pending_logins_throttle_the_device_until_the_back_off_passes(self):
        user = make_user()
        device, key = totp_device(user)
        start = timezone.now()
        clock = {"now": start}
        with mock.patch("authsite.core.clock.now", side_effect=lambda: clock["now"]):
            for attempt in range(20):
                attacker = Client(REMOTE_ADDR=f"198.18.0.{attempt + 1}")
                attacker.post("/login/", {"email": user.email, "password": PASSWORD})
                wrong = f"{(int(otp.totp(key, clock['now'])) + 1) % 1_000_000:06d}"
                response = attacker.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": wrong})
                self.assertNotIn(SESSION_KEY, attacker.session)
                self.assertEqual(response.status_code, 200)
                # Each new pending login starts with the device's count, not a fresh budget: the
                # attacker must wait out the back-off for the next guess to be checked at all.
                device.refresh_from_db()
                clock["now"] += timedelta(seconds=device.throttle_seconds_left() + 1)
            device.refresh_from_db()
            self.assertEqual(device.throttling_failure_count, 20)

            # Just after the last failure even the right code is refused.
            clock["now"] = device.throttling_failure_timestamp + timedelta(seconds=1)
            owner = Client()
            owner.post("/login/", {"email": user.email, "password": PASSWORD})
            code = otp.totp(key, clock["now"])
            refused = owner.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
            self.assertContains(refused, "Too many wrong codes")
            self.assertNotIn(SESSION_KEY, owner.session)
            device.refresh_from_db()
            self.assertEqual(device.throttling_failure_count, 20, "a refused attempt is not checked")

            # Once the back-off (2 ** 19 s) has passed, the right code is accepted.
            clock["now"] = device.throttling_failure_timestamp + timedelta(seconds=2**19 + 1)
            owner = Client()
            owner.post("/login/", {"email": user.email, "password": PASSWORD})
            code = otp.totp(key, clock["now"])
            ok = owner.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
            self.assertRedirects(ok, "/", fetch_redirect_response=False)
            self.assertEqual(owner.session[SESSION_KEY], str(user.pk))
        self.assertEqual(TOTPDevice.objects.get(pk=device.pk).throttling_failure_count, 0)


def uk_mobile(n: int) -> str:
    return f"+44 7911 {123000 + n:06d}"


@override_settings(FACTORS_SMS_BACKEND="locmem", LOGIN_STAGES=PLAIN_MFA)
class SmsPumpingTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        sms_outbox.clear()
        self.addCleanup(sms_outbox.clear)
        # An hour-aligned clock, so fixed windows cannot roll over mid-test.
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        self.clock = {"now": start}
        patcher = mock.patch("authsite.core.clock.now", side_effect=lambda: self.clock["now"])
        patcher.start()
        self.addCleanup(patcher.stop)

    def tick(self) -> None:
        """Wait out the per-device resend cooldown (time only moves forward by about a minute)."""
        self.clock["now"] += timedelta(seconds=factors_settings.CODE_COOLDOWN_SECONDS + 1)

    def signed_in(self, email: str, ip: str = "198.51.100.9") -> Client:
        user = make_user(email)
        client = Client(REMOTE_ADDR=ip)
        client.post("/login/", {"email": user.email, "password": PASSWORD})
        self.assertEqual(client.session[SESSION_KEY], str(user.pk))
        return client

    def test_enrollment_with_50_sequential_premium_and_foreign_numbers(self):
        attacker = self.signed_in("pumper@example.com")
        numbers = []
        for n in range(50):
            if n % 3 == 0:
                numbers.append(f"+44 909 879 {n:04d}")  # UK premium rate
            elif n % 3 == 1:
                numbers.append(f"+882 16 {123400 + n}")  # international networks, not allowed
            else:
                numbers.append(uk_mobile(n))  # sequential mobiles in an allowed country
        for number in numbers:
            # Each attempt is a new unconfirmed device, so there is no resend cooldown to wait for.
            attacker.post("/account/security/sms/", {"phone_number": number})
        user_cap = factors_settings.SMS_CAPS["user"]["hour"]
        self.assertEqual(len(sms_outbox), user_cap)
        self.assertTrue(all(m.to.startswith("+447911") for m in sms_outbox), [m.to for m in sms_outbox])
        self.assertFalse(SMSDevice.objects.exclude(phone_number__startswith="+447911").exists())
        self.assertLessEqual(SMSDevice.objects.count(), 1, "unconfirmed numbers do not pile up")

    def test_many_accounts_from_one_address_hit_the_ip_cap(self):
        for n in range(50):
            client = self.signed_in(f"bot{n}@example.com", ip="198.51.100.66")
            client.post("/account/security/sms/", {"phone_number": uk_mobile(n)})
        self.assertEqual(len(sms_outbox), factors_settings.SMS_CAPS["ip"]["hour"])

    @override_settings(
        FACTORS_SMS_CAPS={
            "user": {"hour": 5, "day": 10},
            "number": {"hour": 5, "day": 10},
            "ip": {"hour": 10, "day": 30},
            "country": {"hour": 7, "day": 20},
        }
    )
    def test_many_accounts_from_many_addresses_hit_the_country_cap(self):
        for n in range(50):
            client = self.signed_in(f"farm{n}@example.com", ip=f"198.18.1.{n + 1}")
            client.post("/account/security/sms/", {"phone_number": uk_mobile(n)})
        self.assertEqual(len(sms_outbox), 7)

    def test_sends_from_the_challenge_are_capped_per_number(self):
        victim = make_user("victim@example.com")
        SMSDevice.objects.create(
            user=victim,
            name="Mobile",
            phone_number="+447911123456",
            calling_code=44,
            confirmed=True,
            verified_at=timezone.now(),
        )
        device = SMSDevice.objects.get(user=victim)
        for n in range(50):
            # A fresh pending login from a fresh address each time (the password is known).
            client = Client(REMOTE_ADDR=f"198.18.2.{n + 1}")
            client.post("/login/", {"email": victim.email, "password": PASSWORD})
            client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"})
            self.assertNotIn(SESSION_KEY, client.session)
            self.tick()
        self.assertEqual(len(sms_outbox), factors_settings.SMS_CAPS["number"]["hour"])
        self.assertEqual({m.to for m in sms_outbox}, {"+447911123456"})
