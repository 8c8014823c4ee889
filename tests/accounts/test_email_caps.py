"""Caps on account emails (sign-up, activation, "you already have an account", password reset)
per destination address and per client IP, per hour: the same neutral answer over the cap."""

from __future__ import annotations

from unittest import mock

from django.core import mail
from django.core.checks import run_checks
from django.test import override_settings

from authsite.accounts.models import User
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user

CAPS = {"address": {"hour": 3}, "ip": {"hour": 1000}}


@override_settings(ACCOUNT_EMAIL_CAPS=CAPS)
class AccountEmailCapTests(CacheClearingTestCase):
    def reset(self, email: str, ip: str = "192.0.2.1"):
        return Client(REMOTE_ADDR=ip).post("/password/reset/", {"email": email})

    def signup(self, email: str, ip: str = "192.0.2.1"):
        return Client(REMOTE_ADDR=ip).post("/signup/", {"email": email, "password": PASSWORD})

    def test_reset_emails_to_one_address_stop_at_the_cap_with_the_same_answer(self):
        make_user("alice@example.com")
        with self.assertLogs("authsite.events", "WARNING") as logs:
            # Each from its own address: the destination's cap holds whoever asks.
            responses = [self.reset("alice@example.com", ip=f"198.51.100.{i + 1}") for i in range(6)]
        self.assertEqual({(r.status_code, r["Location"]) for r in responses}, {(302, "/password/reset/done/")})
        self.assertEqual(len(mail.outbox), 3)
        self.assertEqual(sum("authn_email_capped" in line for line in logs.output), 3)
        self.assertTrue(all("alice@example.com" not in line for line in logs.output))

    def test_signup_and_reset_share_the_address_cap_and_spellings_count_as_one(self):
        make_user("bob@example.com")
        self.signup("bob@example.com")
        self.reset("BOB@example.com")
        self.signup("Bob@Example.com")
        self.reset("bob@example.com")
        self.signup("bob@EXAMPLE.com")
        self.assertEqual(len(mail.outbox), 3)

    def test_signup_over_the_cap_writes_nothing(self):
        for _ in range(3):
            self.signup("carol@example.com")
        self.assertEqual(len(mail.outbox), 3)
        User.objects.filter(email="carol@example.com").delete()
        response = self.signup("carol@example.com")
        self.assertRedirects(response, "/signup/done/", fetch_redirect_response=False)
        self.assertFalse(User.objects.filter(email="carol@example.com").exists())
        self.assertEqual(len(mail.outbox), 3)

    @override_settings(ACCOUNT_EMAIL_CAPS={"address": {"hour": 100}, "ip": {"hour": 4}})
    def test_one_client_cannot_flood_many_addresses_nor_hide_behind_its_ipv6_slash_64(self):
        for i in range(6):
            self.signup(f"user{i}@example.com", ip=f"2001:db8:7:7::{i + 1:x}")
        self.assertEqual(len(mail.outbox), 4)
        self.assertEqual(User.objects.count(), 4)
        # Another client still gets its emails.
        self.reset("user0@example.com", ip="2001:db8:7:8::1")
        self.signup("user9@example.com", ip="203.0.113.9")
        self.assertEqual(len(mail.outbox), 5)

    def test_cache_outage_sends_nothing_and_answers_the_same(self):
        make_user("dave@example.com")
        with (
            mock.patch("authsite.accounts.caps.cache.get_many", side_effect=ConnectionError("cache down")),
            self.assertLogs("authsite", "WARNING"),
        ):
            response = self.reset("dave@example.com")
        self.assertRedirects(response, "/password/reset/done/", fetch_redirect_response=False)
        self.assertEqual(mail.outbox, [])


class AccountEmailCapSettingsTests(CacheClearingTestCase):
    def test_malformed_caps_fail_the_system_check(self):
        for caps in ({"address": {"hour": 0}}, {"phone": {"hour": 5}}, {"ip": {"week": 5}}, {"ip": 5}, []):
            with self.subTest(caps=caps), override_settings(ACCOUNT_EMAIL_CAPS=caps):
                ids = {message.id for message in run_checks()}
                self.assertIn("accounts.E004", ids)

    def test_defaults_pass_the_system_check(self):
        self.assertNotIn("accounts.E004", {message.id for message in run_checks()})
