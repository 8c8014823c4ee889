"""Account enumeration by response (login, reset, signup) and by timing (login, production hasher)."""

from __future__ import annotations

import statistics
import time

from django.core import mail
from django.test import Client, override_settings

from authsite.models import User
from authsite.testrunner import PRODUCTION_PASSWORD_HASHERS
from tests.helpers import CacheClearingTestCase, make_user, normalized_body

KNOWN = "alice@example.com"
UNKNOWN = "zelda@example.com"
DATE_HEADERS = {"Date", "Expires", "Last-Modified"}


def fingerprint(response, email: str) -> tuple:
    """What an attacker can see: status, redirect, body (CSRF token and echoed address masked), cookies."""
    cookies = {
        name: {k: v for k, v in morsel.items() if v and k != "expires"} for name, morsel in response.cookies.items()
    }
    # Which headers are sent counts; the clock in a date header does not (never_cache sets Expires to now).
    headers = {
        k: ("<date>" if k in DATE_HEADERS else v)
        for k, v in response.items()
        if k not in {"X-Request-ID", "Set-Cookie"}
    }
    body = normalized_body(response.content).replace(email.encode(), b"EMAIL")
    return response.status_code, headers, body, cookies


class ResponseEnumerationTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        make_user(KNOWN)

    def assert_same(self, path: str, data_for, follow: bool = False) -> None:
        seen = []
        for email in (UNKNOWN, KNOWN):
            client = Client()
            client.get(path)  # a CSRF cookie, as a browser would have
            response = client.post(path, data_for(email), follow=follow)
            seen.append(fingerprint(response, email))
        self.assertEqual(seen[0], seen[1])

    def test_login_wrong_password(self):
        self.assert_same("/login/", lambda email: {"email": email, "password": "not the password 1"})

    def test_password_reset(self):
        self.assert_same("/password/reset/", lambda email: {"email": email}, follow=True)
        # Only the real owner gets an email; nothing on the page says so.
        self.assertEqual([m.to for m in mail.outbox], [[KNOWN]])

    def test_signup(self):
        self.assert_same("/signup/", lambda email: {"email": email, "password": "a fresh passphrase 42"}, follow=True)
        self.assertEqual(User.objects.filter(email=KNOWN).count(), 1)


@override_settings(
    PASSWORD_HASHERS=PRODUCTION_PASSWORD_HASHERS,
    LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 10_000, "IP_MAX_FAILURES": 10_000, "WINDOW_SECONDS": 900},
)
class TimingEnumerationTests(CacheClearingTestCase):
    # 200 samples in all: 100 of each kind, interleaved (about 50 s with Argon2id).
    PAIRS = 100

    def test_unknown_user_and_wrong_password_take_the_same_time(self):
        user = make_user(KNOWN)
        self.assertTrue(user.password.startswith("argon2"), user.password[:20])
        client = Client()

        def sample(email: str) -> float:
            started = time.perf_counter()
            response = client.post("/login/", {"email": email, "password": "not the password 1"})
            elapsed = time.perf_counter() - started
            self.assertEqual(response.status_code, 200)
            return elapsed

        for _ in range(5):  # warm up: templates, hasher, connections
            sample(UNKNOWN)
            sample(KNOWN)
        unknown, wrong = [], []
        for i in range(self.PAIRS):
            # Interleave, alternating which goes first, so drift hits both series alike.
            if i % 2:
                unknown.append(sample(UNKNOWN))
                wrong.append(sample(KNOWN))
            else:
                wrong.append(sample(KNOWN))
                unknown.append(sample(UNKNOWN))
        median_unknown = statistics.median(unknown) * 1000
        median_wrong = statistics.median(wrong) * 1000
        # The median of the paired differences: each pair ran back to back, so a burst of load on
        # the machine shifts both of its samples and cancels out, where two separate medians
        # would drift apart with it.
        median_difference = statistics.median(w - u for u, w in zip(unknown, wrong, strict=True)) * 1000
        self.assertLess(
            abs(median_difference),
            5.0,
            f"median paired difference {median_difference:.2f} ms (medians: unknown user "
            f"{median_unknown:.2f} ms, wrong password {median_wrong:.2f} ms)",
        )
        # Make sure the production hasher was really at work (Argon2id costs tens of ms).
        self.assertGreater(median_wrong, 5.0, f"median wrong password {median_wrong:.2f} ms")
