"""The risk engine in the real sign-in flow, end to end through the views (demo GeoIP databases)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.http import HttpResponse
from django.test import override_settings
from django.utils import timezone

from factors import otp
from factors import services as factor_services
from factors.models import EmailDevice
from risk import services as risk_services
from risk.context import context_from_parts
from risk.device import device_cookie_set
from risk.geo import lookup
from risk.loading import clear_caches
from risk.models import LoginEvent, TrustedDevice
from risk.velocity import CacheVelocityStore
from tests.base import BrowserClient as Client
from tests.helpers import BROKEN_MAILER, PASSWORD, DemoGeoLoginTestCase, make_user

OSLO = "192.0.2.10"
OSLO_2 = "192.0.2.77"
SAO_PAULO = "198.51.100.7"
SYDNEY_CLOUD = "203.0.113.5"
LAPTOP = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
SCRIPT = "python-requests/2.32.3"
DEVICE = "known-laptop-device-0001"


def device_cookie(device_id: str) -> str:
    """The signed cookie value the site itself would have set for ``device_id``."""
    response = HttpResponse()
    device_cookie_set(response, device_id)
    return response.cookies["device_id"].value


def client_for(ip: str, ua: str, device: str | None = None, **extra) -> Client:
    """A browser at ``ip`` with user agent ``ua``, carrying the device cookie of ``device`` if given."""
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=ua, **extra)
    if device:
        client.cookies["device_id"] = device_cookie(device)
    return client


def learn_history(user, n: int = 12, *, ip=OSLO, ua=LAPTOP, device=None, last_minutes_ago: int = 60) -> None:
    """Teach the engine ``n`` earlier successful sign-ins of ``user``, the last ``last_minutes_ago``."""
    now = timezone.now()
    for i in range(n):
        when = now - timedelta(days=n - i) if i < n - 1 else now - timedelta(minutes=last_minutes_ago)
        ctx = context_from_parts(
            user_id=user.pk, ip=ip, user_agent=ua, timestamp=when, geo=lookup(ip), device_id=device
        )
        risk_services.login_succeeded(context=ctx)


class RiskFlowTestCase(DemoGeoLoginTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user("erin@example.com")
        enrollment = factor_services.factor_enroll_totp_begin(user=self.user, name="Phone app")
        enrollment.device.confirmed = True
        enrollment.device.save()
        self.totp = enrollment.device
        self.key = enrollment.device.bin_key

    def learn_history(self, n: int = 12, *, ip=OSLO, ua=LAPTOP, device=DEVICE, last_minutes_ago: int = 60) -> None:
        """Teach the engine ``n`` earlier successful sign-ins, the last one ``last_minutes_ago``."""
        learn_history(self.user, n, ip=ip, ua=ua, device=device, last_minutes_ago=last_minutes_ago)

    def client_for(self, ip: str, ua: str, device: str | None = None, **extra) -> Client:
        return client_for(ip, ua, device, **extra)

    def sign_in(self, client: Client, **extra):
        return client.post("/login/", {"email": self.user.email, "password": PASSWORD}, **extra)

    def last_event(self) -> LoginEvent:
        return LoginEvent.objects.filter(user=self.user).latest("created_at")

    def pass_totp(self, client: Client, *, step: int, remember: bool = False, **extra):
        code = otp.totp(self.key, timezone.now() + timedelta(seconds=30 * step))
        data = {"device": self.totp.persistent_id, "action": "verify", "code": code}
        if remember:
            data["remember"] = "on"
        with mock.patch("authsite.core.clock.now", return_value=timezone.now() + timedelta(seconds=30 * step)):
            return client.post("/login/verify/", data, **extra)


class AdaptiveDecisionTests(RiskFlowTestCase):
    def test_usual_laptop_at_home_needs_only_the_password(self):
        self.learn_history()
        client = self.client_for(OSLO_2, LAPTOP, DEVICE)
        response = self.sign_in(client)
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        event = self.last_event()
        self.assertEqual((event.decision, event.outcome), ("allow", "success"))
        self.assertEqual((event.country, event.city, event.asn), ("NO", "Oslo", 64500))
        self.assertEqual(event.ip, OSLO_2)

    def test_new_phone_in_my_city_asks_for_a_factor_and_says_why(self):
        self.learn_history()
        client = self.client_for(OSLO_2, PHONE)
        self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)
        event = self.last_event()
        self.assertEqual(event.decision, "challenge")
        self.assertEqual(event.outcome, "pending")
        # Two reasons say so (the browser is new to the model, the device cookie is unknown): one line.
        self.assertLessEqual({"new_device", "unknown_device"}, {r["code"] for r in event.reasons})
        page = client.get("/login/verify/")
        self.assertContains(page, "We don&#x27;t recognise this device", count=1)
        self.assertContains(page, "Remember this device for 30 days")
        self.assertRedirects(self.pass_totp(client, step=1), "/", fetch_redirect_response=False)
        event.refresh_from_db()
        self.assertEqual((event.outcome, event.factor), ("success", "totp"))

    def test_new_country_asks_for_a_factor(self):
        self.learn_history(last_minutes_ago=3 * 24 * 60)
        client = self.client_for(SAO_PAULO, LAPTOP)
        self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)
        event = self.last_event()
        self.assertIn(event.decision, {"challenge", "challenge_strong"})
        self.assertIn("new_country", [r["code"] for r in event.reasons])
        # Each stored reason says what it added to the score.
        weights = {r["code"]: r["weight"] for r in event.reasons}
        self.assertGreater(weights["new_country"], 0)

    def test_impossible_travel_from_a_hosting_network_with_a_script_is_strong_or_denied(self):
        self.learn_history(last_minutes_ago=40)
        client = self.client_for(SYDNEY_CLOUD, SCRIPT)
        response = self.sign_in(client)
        event = self.last_event()
        self.assertIn(event.decision, {"challenge_strong", "deny"})
        codes = [r["code"] for r in event.reasons]
        self.assertIn("impossible_travel", codes)
        self.assertNotIn(SESSION_KEY, client.session)
        self.assertTrue(any("sign-in" in m.subject for m in mail.outbox), "the user is told by email")
        if event.decision == "challenge_strong":
            # The user has an app (no passkey): only it will do, not email or SMS.
            self.assertEqual(client.session["pending_login"]["facts"]["requirement"]["minimum"], "strong")
            self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)

    def test_blocklisted_address_with_a_burst_of_failures_is_denied(self):
        self.learn_history()
        blocklist = Path(self.geo_dir) / "firehol_level1.netset"
        blocklist.write_text("# FireHOL level 1 (test)\n203.0.113.0/24\n")
        with override_settings(RISK_IP_REPUTATION_FILES=[str(blocklist)]):
            clear_caches()
            attacker = self.client_for(SYDNEY_CLOUD, SCRIPT)
            for i in range(30):
                attacker.post("/login/", {"email": self.user.email, "password": f"guess {i} password"})
            response = self.sign_in(attacker)
        self.assertEqual(self.last_event().decision, "deny")
        self.assertEqual(self.last_event().outcome, "denied")
        self.assertRedirects(response, "/login/", fetch_redirect_response=False)
        page = attacker.get("/login/")
        self.assertContains(page, "We couldn&#x27;t sign you in")
        self.assertNotIn(SESSION_KEY, attacker.session)
        self.assertIn("refused", mail.outbox[-1].subject)

    def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(self):
        self.learn_history()
        client = self.client_for(OSLO_2, LAPTOP, DEVICE, HTTP_X_FORWARDED_FOR=SYDNEY_CLOUD)
        self.sign_in(client)
        self.assertEqual(self.last_event().ip, OSLO_2)
        self.assertEqual(self.last_event().country, "NO")

    def test_learning_happens_only_after_a_completed_sign_in(self):
        self.learn_history()
        client = self.client_for(SAO_PAULO, PHONE)
        self.sign_in(client)  # challenged, never completed
        again = self.client_for(SAO_PAULO, PHONE)
        self.sign_in(again)
        self.assertNotEqual(self.last_event().decision, "allow")

    def test_user_without_factor_who_is_challenged_gets_an_email_code(self):
        self.totp.delete()
        self.learn_history()
        client = self.client_for(OSLO_2, PHONE)
        self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)
        device = EmailDevice.objects.get(user=self.user)
        self.assertEqual(device.email, self.user.email)
        client.post("/login/verify/", {"device": device.persistent_id, "action": "send"})
        code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
        ok = client.post("/login/verify/", {"device": device.persistent_id, "action": "verify", "code": code})
        self.assertRedirects(ok, "/", fetch_redirect_response=False)

    def test_first_sign_in_just_after_sign_up_is_allowed_without_factor(self):
        self.totp.delete()
        response = self.sign_in(self.client_for(OSLO, LAPTOP))
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertIn("first_login", [r["code"] for r in self.last_event().reasons])

    def test_the_first_sign_in_grace_does_not_override_other_signals(self):
        self.totp.delete()
        response = self.sign_in(self.client_for(OSLO, SCRIPT))
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
        codes = [r["code"] for r in self.last_event().reasons]
        self.assertIn("first_login", codes)
        self.assertIn("automation", codes)
        self.assertNotEqual(self.last_event().decision, "allow")

    def test_first_sign_in_with_a_factor_asks_for_it(self):
        response = self.sign_in(self.client_for(OSLO, LAPTOP))
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)

    def test_first_sign_in_long_after_sign_up_without_factor_is_challenged(self):
        self.totp.delete()
        self.user.email_verified_at = timezone.now() - timedelta(days=30)
        self.user.save()
        response = self.sign_in(self.client_for(OSLO, LAPTOP))
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)

    @override_settings(RISK_MODE="strict")
    def test_strict_mode_asks_every_time_even_on_the_usual_laptop(self):
        self.learn_history()
        client = self.client_for(OSLO_2, LAPTOP, DEVICE)
        self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)


class NewBrowserOnAYoungAccountTests(RiskFlowTestCase):
    """A new site, a new account: two sign-ins in one browser, then one from a browser without its cookie."""

    def sign_in_with_totp(self, client: Client, *, step: int) -> None:
        self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)
        self.assertRedirects(self.pass_totp(client, step=step), "/", fetch_redirect_response=False)
        client.post("/logout/")

    def test_a_new_browser_is_asked_for_the_factor_even_on_the_same_network(self):
        usual = self.client_for(OSLO, LAPTOP)
        self.sign_in_with_totp(usual, step=1)  # the first sign-in: asked, as for every account with a factor
        self.assertRedirects(self.sign_in(usual), "/", fetch_redirect_response=False)  # the same browser: not
        self.assertEqual(self.last_event().decision, "allow")
        usual.post("/logout/")
        # Another browser on the same computer: same address, same user agent, no device cookie.
        fresh = self.client_for(OSLO, LAPTOP)
        self.assertRedirects(self.sign_in(fresh), "/login/verify/", fetch_redirect_response=False)
        event = self.last_event()
        self.assertEqual(event.decision, "challenge")
        self.assertIn("unknown_device", [r["code"] for r in event.reasons])
        self.assertContains(fresh.get("/login/verify/"), "We don&#x27;t recognise this device", count=1)
        self.assertNotIn(SESSION_KEY, fresh.session)
        # Once it has passed the factor it is a known device, and the password is enough there.
        self.assertRedirects(self.pass_totp(fresh, step=2), "/", fetch_redirect_response=False)
        fresh.post("/logout/")
        self.assertRedirects(self.sign_in(fresh), "/", fetch_redirect_response=False)


class FactorFailureVelocityTests(RiskFlowTestCase):
    def failures(self) -> int:
        return CacheVelocityStore().counts(self.user.pk, OSLO_2, timezone.now()).account_failures

    def test_a_failed_second_factor_counts_as_a_failure_of_the_account(self):
        self.learn_history()
        phone = self.client_for(OSLO_2, PHONE)
        self.assertRedirects(self.sign_in(phone), "/login/verify/", fetch_redirect_response=False)
        self.assertEqual(self.failures(), 0)
        wrong = {"device": self.totp.persistent_id, "action": "verify", "code": "000000"}
        self.assertContains(phone.post("/login/verify/", wrong), "didn&#x27;t work")
        self.assertEqual(self.failures(), 1)
        # At once again: the device is backing off and refuses without checking, which is no new guess.
        self.assertContains(phone.post("/login/verify/", wrong), "Too many")
        self.assertEqual(self.failures(), 1)
        # The right code after the back-off signs in and clears the count, as a good password does.
        self.assertRedirects(self.pass_totp(phone, step=1), "/", fetch_redirect_response=False)
        self.assertEqual(self.failures(), 0)


class TrustedDeviceTests(RiskFlowTestCase):
    def remembered_client(self) -> Client:
        self.learn_history()
        client = self.client_for(OSLO_2, PHONE)
        self.sign_in(client)
        self.assertRedirects(self.pass_totp(client, step=1, remember=True), "/", fetch_redirect_response=False)
        client.post("/logout/")
        return client

    def test_remembering_after_a_challenge_skips_the_next_one(self):
        client = self.remembered_client()
        device = TrustedDevice.objects.get(user=self.user)
        self.assertNotIn(client.cookies["trusted_device"].value, device.token_hash)
        self.assertGreaterEqual(len(client.cookies["trusted_device"].value), 43)  # 256 bits
        self.assertIn("Oslo", device.label)
        self.assertRedirects(self.sign_in(client), "/", fetch_redirect_response=False)
        self.assertTrue(self.last_event().trusted_device)

    def test_not_ticking_the_box_remembers_nothing(self):
        self.learn_history()
        client = self.client_for(OSLO_2, PHONE)
        self.sign_in(client)
        self.pass_totp(client, step=1)
        self.assertFalse(TrustedDevice.objects.exists())

    def test_password_change_revokes_remembered_devices(self):
        client = self.remembered_client()
        self.user.set_password("a new passphrase 99")
        self.user.save()
        client.post("/login/", {"email": self.user.email, "password": "a new passphrase 99"})
        self.assertFalse(self.last_event().trusted_device)

    def test_factor_change_revokes_remembered_devices(self):
        client = self.remembered_client()
        factor_services.factor_email_enroll_begin(user=self.user)
        EmailDevice.objects.filter(user=self.user).update(confirmed=True)
        self.sign_in(client)
        self.assertFalse(self.last_event().trusted_device)

    def test_stolen_cookie_from_another_network_and_browser_is_still_scored(self):
        client = self.remembered_client()
        thief = self.client_for(SYDNEY_CLOUD, SCRIPT)
        thief.cookies["trusted_device"] = client.cookies["trusted_device"].value
        thief.cookies["device_id"] = client.cookies["device_id"].value
        self.sign_in(thief)
        self.assertNotEqual(self.last_event().decision, "allow")
        self.assertNotIn(SESSION_KEY, thief.session)

    def test_copied_cookie_in_another_browser_on_the_owners_network_counts_for_nothing(self):
        client = self.remembered_client()  # remembered on the phone, at home
        # The thief copies the remembered-device cookie (and the device cookie) into another browser,
        # at the owner's home network, with the owner's password.
        for cookies in (("trusted_device",), ("trusted_device", "device_id")):
            thief = self.client_for(OSLO_2, LAPTOP)
            for name in cookies:
                thief.cookies[name] = client.cookies[name].value
            with self.assertLogs("authsite.events") as logs:
                response = self.sign_in(thief)
            self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
            event = self.last_event()
            self.assertFalse(event.trusted_device)
            self.assertNotEqual(event.decision, "allow")
            self.assertIn("trusted_device_mismatch", [r["code"] for r in event.reasons])
            # The thief learns nothing about why: the words are those of any unknown device.
            self.assertContains(thief.get("/login/verify/"), "We don&#x27;t recognise this device", count=1)
            self.assertNotIn(SESSION_KEY, thief.session)
            device = TrustedDevice.objects.get(user=self.user)
            mismatch = [r for r in logs.records if getattr(r, "event", "") == "risk_trusted_device_mismatch"]
            self.assertEqual(len(mismatch), 1, logs.output)
            self.assertEqual((mismatch[0].trusted_device_id, mismatch[0].user_id), (device.pk, self.user.pk))

    def test_remembered_cookie_without_its_device_cookie_counts_for_nothing(self):
        client = self.remembered_client()
        copy = self.client_for(OSLO_2, PHONE)
        copy.cookies["trusted_device"] = client.cookies["trusted_device"].value
        self.assertRedirects(self.sign_in(copy), "/login/verify/", fetch_redirect_response=False)
        self.assertIn("trusted_device_mismatch", [r["code"] for r in self.last_event().reasons])

    def test_a_browser_update_keeps_the_device_remembered(self):
        client = self.remembered_client()
        client.defaults["HTTP_USER_AGENT"] = PHONE.replace("17_5", "18_1").replace("Version/17.5", "Version/18.1")
        self.sign_in(client)  # the model may still ask (a new browser version), but the device counts
        event = self.last_event()
        self.assertTrue(event.trusted_device)
        self.assertIn("trusted_device", [r["code"] for r in event.reasons])

    def test_a_device_remembered_before_the_browser_binding_counts_for_nothing(self):
        client = self.remembered_client()
        TrustedDevice.objects.filter(user=self.user).update(client_binding="")
        self.sign_in(client)
        event = self.last_event()
        self.assertFalse(event.trusted_device)
        self.assertNotIn("trusted_device_mismatch", [r["code"] for r in event.reasons])

    def test_strict_mode_remembered_device_never_replaces_the_factor(self):
        client = self.remembered_client()
        with override_settings(RISK_MODE="strict"):
            self.assertRedirects(self.sign_in(client), "/login/verify/", fetch_redirect_response=False)

    def test_another_users_cookie_is_not_trusted(self):
        client = self.remembered_client()
        other = make_user("frank@example.com")
        client.post("/login/", {"email": other.email, "password": PASSWORD})
        event = LoginEvent.objects.filter(user=other).latest("created_at")
        self.assertFalse(event.trusted_device)


@override_settings(SESSION_COOKIE_SECURE=True)
class HostPrefixedCookieTests(RiskFlowTestCase):
    """With Secure cookies (production) the device cookies are __Host- cookies, and only those count."""

    def sign_in(self, client: Client, **extra):
        return super().sign_in(client, secure=True, **extra)

    def pass_totp(self, client: Client, *, step: int, remember: bool = True, **extra):
        return super().pass_totp(client, step=step, remember=remember, secure=True, **extra)

    def test_cookies_are_set_with_the_host_prefix(self):
        self.learn_history()
        client = self.client_for(OSLO_2, PHONE)
        self.sign_in(client)
        response = self.pass_totp(client, step=1)
        for name in ("__Host-device_id", "__Host-trusted_device"):
            cookie = response.cookies[name]
            self.assertTrue(cookie["secure"], name)
            self.assertEqual(cookie["path"], "/", name)
            self.assertEqual(cookie["domain"], "", name)
        self.assertNotIn("device_id", response.cookies)
        self.assertNotIn("trusted_device", response.cookies)
        client.post("/logout/", secure=True)
        self.assertRedirects(self.sign_in(client), "/", fetch_redirect_response=False)
        self.assertTrue(self.last_event().trusted_device)

    def test_plain_named_cookies_count_for_nothing(self):
        self.learn_history()
        owner = self.client_for(OSLO_2, PHONE)
        self.sign_in(owner)
        self.pass_totp(owner, step=1)
        plain = self.client_for(OSLO_2, PHONE)
        plain.cookies["device_id"] = owner.cookies["__Host-device_id"].value
        plain.cookies["trusted_device"] = owner.cookies["__Host-trusted_device"].value
        self.assertRedirects(self.sign_in(plain), "/login/verify/", fetch_redirect_response=False)
        event = self.last_event()
        self.assertFalse(event.trusted_device)
        self.assertEqual(event.device_key, "")


class PlainCookieNamesOverHttpTests(RiskFlowTestCase):
    def test_development_over_http_uses_the_plain_names(self):
        self.learn_history()
        client = self.client_for(OSLO_2, PHONE)
        self.sign_in(client)
        response = self.pass_totp(client, step=1, remember=True)
        self.assertIn("device_id", response.cookies)
        self.assertIn("trusted_device", response.cookies)
        self.assertFalse(response.cookies["trusted_device"]["secure"])
        self.assertNotIn("__Host-device_id", response.cookies)


class FailClosedTests(RiskFlowTestCase):
    def test_corrupt_geoip_database_fails_closed_to_the_strongest_factor(self):
        self.learn_history()
        corrupt = Path(self.geo_dir) / "corrupt-city.mmdb"
        corrupt.write_bytes(b"this is not a maxmind database" * 10)
        with override_settings(RISK_GEOIP_CITY_DB=str(corrupt)), self.assertLogs("authsite.events") as logs:
            clear_caches()
            client = self.client_for(OSLO_2, LAPTOP, DEVICE)
            response = self.sign_in(client)
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
        event = self.last_event()
        self.assertEqual(event.decision, "challenge_strong")
        self.assertIn("engine_error", [r["code"] for r in event.reasons])
        self.assertTrue(any("risk_engine_error" in line for line in logs.output))

    def test_engine_exception_fails_closed_and_never_500s(self):
        self.learn_history()
        with mock.patch("risk.services.login_assess", side_effect=RuntimeError("boom")):
            client = self.client_for(OSLO_2, LAPTOP, DEVICE)
            response = self.sign_in(client)
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
        self.assertEqual(self.last_event().decision, "challenge_strong")

    def test_cache_outage_never_lets_the_password_suffice(self):
        self.learn_history()
        with mock.patch("authsite.accounts.throttle.cache.get_many", side_effect=ConnectionError("cache down")):
            client = self.client_for(OSLO_2, LAPTOP, DEVICE)
            response = self.sign_in(client)
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)


class NotificationFailureTests(RiskFlowTestCase):
    @override_settings(MAILERS=BROKEN_MAILER)
    def test_strong_challenge_goes_on_when_the_email_cannot_be_sent(self):
        self.learn_history(last_minutes_ago=10)
        client = self.client_for(SAO_PAULO, LAPTOP, DEVICE)
        with self.assertLogs("authsite.notifications", "ERROR"):
            response = self.sign_in(client)
        self.assertRedirects(response, "/login/verify/", fetch_redirect_response=False)
        self.assertEqual(self.last_event().decision, "challenge_strong")
