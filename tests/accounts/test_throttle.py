"""Throttling of the password step, shared through the cache."""

from __future__ import annotations

import time
from unittest import mock

from django.test import override_settings

from authsite.login.state import SESSION_KEY as PENDING_KEY
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user


class ThrottleTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()

    def attempt(self, client: Client, password: str = "wrong password!", email: str = "alice@example.com"):
        return client.post("/login/", {"email": email, "password": password})

    def test_100_failures_allowed_then_429_without_checking_the_password(self):
        for i in range(100):
            ip_client = Client(REMOTE_ADDR=f"10.1.{i // 250}.{i % 250 + 1}")
            self.assertEqual(self.attempt(ip_client).status_code, 200, f"attempt {i + 1}")
        with self.assertLogs("authsite.events") as logs:
            response = self.attempt(Client(REMOTE_ADDR="10.9.9.9"), password=PASSWORD)
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many attempts", status_code=429)
        self.assertEqual(response["Retry-After"], "900")
        self.assertIn("authn_login_fail_max", logs.output[0])

    def test_counters_are_shared_between_clients_and_keyed_by_normalised_email(self):
        with override_settings(
            LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 3, "IP_MAX_FAILURES": 1000, "WINDOW_SECONDS": 900}
        ):
            self.attempt(Client(REMOTE_ADDR="192.0.2.1"))
            self.attempt(Client(REMOTE_ADDR="192.0.2.2"), email="ALICE@example.com")
            self.attempt(Client(REMOTE_ADDR="192.0.2.3"), email=" alice@EXAMPLE.com")
            self.assertEqual(self.attempt(Client(REMOTE_ADDR="192.0.2.4"), password=PASSWORD).status_code, 429)

    def test_unknown_account_is_throttled_the_same_way(self):
        with override_settings(
            LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 2, "IP_MAX_FAILURES": 1000, "WINDOW_SECONDS": 900}
        ):
            for _ in range(2):
                self.attempt(Client(), email="ghost@example.com")
            self.assertEqual(self.attempt(Client(), email="ghost@example.com").status_code, 429)

    def test_per_ip_limit_across_accounts(self):
        with override_settings(
            LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 100, "IP_MAX_FAILURES": 5, "WINDOW_SECONDS": 900}
        ):
            spray = Client(REMOTE_ADDR="203.0.113.7")
            for i in range(5):
                self.assertEqual(self.attempt(spray, email=f"user{i}@example.com").status_code, 200)
            self.assertEqual(self.attempt(spray, password=PASSWORD).status_code, 429)
            # The real user elsewhere is not affected.
            self.assertEqual(self.attempt(Client(REMOTE_ADDR="198.51.100.1"), password=PASSWORD).status_code, 302)

    def test_success_resets_consecutive_failures(self):
        with override_settings(
            LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 3, "IP_MAX_FAILURES": 1000, "WINDOW_SECONDS": 900}
        ):
            self.attempt(Client())
            self.attempt(Client())
            self.assertEqual(self.attempt(Client(), password=PASSWORD).status_code, 302)
            self.attempt(Client())
            self.attempt(Client())
            self.assertEqual(self.attempt(Client(), password=PASSWORD).status_code, 302)

    def test_no_permanent_lockout_the_window_expires(self):
        # A one-second window, and a real wait: the cache's own expiry (locmem or Redis) is tested.
        with override_settings(
            LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 2, "IP_MAX_FAILURES": 1000, "WINDOW_SECONDS": 1}
        ):
            self.attempt(Client())
            self.attempt(Client())
            self.assertEqual(self.attempt(Client(), password=PASSWORD).status_code, 429)
            time.sleep(1.2)
            self.assertEqual(self.attempt(Client(), password=PASSWORD).status_code, 302)

    def test_cache_outage_fails_closed_into_the_pending_login(self):
        with (
            mock.patch("authsite.accounts.throttle.cache.get_many", side_effect=ConnectionError("cache down")),
            mock.patch("authsite.accounts.throttle.cache.add", side_effect=ConnectionError("cache down")),
            mock.patch("authsite.accounts.throttle.cache.delete", side_effect=ConnectionError("cache down")),
            override_settings(ROOT_URLCONF="tests.login.stages", LOGIN_STAGES=["tests.login.stages.ConfirmStage"]),
            self.assertLogs("authsite", level="INFO") as logs,
        ):
            response = self.attempt(self.client, password=PASSWORD)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(self.client.session[PENDING_KEY]["facts"]["throttle_unavailable"])
        self.assertTrue(any("authn_throttle_unavailable" in line for line in logs.output))


class AccountSpellingTests(CacheClearingTestCase):
    """One account, one counter, whatever spelling of its address is typed (SQLite and PostgreSQL)."""

    THREE_FAILURES = {"ACCOUNT_MAX_FAILURES": 3, "IP_MAX_FAILURES": 1000, "WINDOW_SECONDS": 900}

    def setUp(self) -> None:
        super().setUp()
        self.user = make_user("iris@example.com")

    def attempt(self, email: str, password: str = "wrong password!"):
        return Client(REMOTE_ADDR="192.0.2.9").post("/login/", {"email": email, "password": password})

    def test_the_lookup_follows_the_canonical_fold_on_every_database(self):
        from authsite.accounts.models import User

        # U+017F LONG S is "s" under NFKC; case does not matter.
        self.assertEqual(User.objects.get_by_email("iri\u017f@example.com"), self.user)
        self.assertEqual(User.objects.get_by_email(" IRIS@Example.COM "), self.user)
        # U+0131 DOTLESS I is another letter: PostgreSQL's UPPER() folds it to "I", the site does not.
        self.assertIsNone(User.objects.get_by_email("\u0131ris@example.com"))

    def test_unicode_spellings_of_a_throttled_account_check_no_password(self):
        with override_settings(LOGIN_THROTTLE=self.THREE_FAILURES):
            for _ in range(3):
                self.assertEqual(self.attempt("iris@example.com").status_code, 200)
            self.assertEqual(self.attempt("iris@example.com", PASSWORD).status_code, 429)
            for spelling in ("iri\u017f@example.com", "IRI\u017f@EXAMPLE.COM", "\uff49ris@example.com"):
                with self.subTest(spelling=spelling):
                    self.assertEqual(self.attempt(spelling, PASSWORD).status_code, 429)
            # A spelling that names no account gets the same answer for the right and a wrong
            # password: nothing about the account's password can be learnt through it.
            right = self.attempt("\u0131ris@example.com", PASSWORD)
            wrong = self.attempt("\u0131ris@example.com")
            self.assertEqual((right.status_code, wrong.status_code), (200, 200))
            self.assertContains(right, "don&#x27;t match an active account")

    def test_failures_under_any_spelling_count_against_the_account(self):
        with override_settings(LOGIN_THROTTLE=self.THREE_FAILURES):
            for spelling in ("iri\u017f@example.com", "IRIS@example.com", "\uff49ris@example.com"):
                self.attempt(spelling)
            self.assertEqual(self.attempt("iris@example.com", PASSWORD).status_code, 429)

    def test_reauthentication_counts_on_the_same_counter(self):
        with override_settings(LOGIN_THROTTLE=self.THREE_FAILURES):
            for _ in range(3):
                self.attempt("IRI\u017f@example.com")
            self.client.force_login(self.user)
            self.assertEqual(self.client.post("/account/reauthenticate/", {"password": PASSWORD}).status_code, 429)


class Ipv6ThrottleTests(CacheClearingTestCase):
    """An IPv6 client is counted by its /64: a host can use a fresh address for every request."""

    def attempt(self, ip: str, password: str = "wrong password!"):
        return Client(REMOTE_ADDR=ip).post("/login/", {"email": "alice@example.com", "password": password})

    def test_addresses_of_one_slash_64_share_the_per_ip_counter(self):
        make_user()
        with override_settings(
            LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 100, "IP_MAX_FAILURES": 5, "WINDOW_SECONDS": 900}
        ):
            for i in range(5):
                self.assertEqual(self.attempt(f"2001:db8:1:2::{i + 1:x}").status_code, 200)
            self.assertEqual(self.attempt("2001:db8:1:2:ffff:ffff:ffff:fffe", PASSWORD).status_code, 429)
            # The next /64 is another client.
            self.assertEqual(self.attempt("2001:db8:1:3::1", PASSWORD).status_code, 302)

    def test_rate_key_of_ipv4_and_ipv6(self):
        from authsite.core.clientip import ip_rate_key

        self.assertEqual(ip_rate_key("203.0.113.7"), "203.0.113.7")
        self.assertEqual(ip_rate_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64")
        self.assertEqual(ip_rate_key("2001:db8:1:2::1"), ip_rate_key("2001:db8:1:2:ffff:ffff:ffff:ffff"))
