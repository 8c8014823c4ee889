"""Account enumeration by response (login, reset, signup) and by timing (login with the production
hasher; reset and sign-up with the production task queue and a mail server that takes time)."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.test import override_settings

from authsite.accounts.models import User
from tests.base import BrowserClient as Client
from tests.helpers import DATABASE_TASKS, NO_EMAIL_CAPS, CacheClearingTestCase, make_user, normalized_body
from tests.runner import PRODUCTION_PASSWORD_HASHERS

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


class SlowEmailBackend(LocmemEmailBackend):
    """A mail server 30 ms away: what an SMTP relay costs a request that sends inside it."""

    def send_messages(self, messages):
        time.sleep(0.03)
        return super().send_messages(messages)


SLOW_MAILER = {"default": {"BACKEND": "tests.security.test_enumeration.SlowEmailBackend", "OPTIONS": {}}}
# TASKS_BACKEND=database, as in production: emails are queued for the worker.


def paired_samples(
    first: Callable[[int], float], second: Callable[[int], float], pairs: int
) -> tuple[list[float], list[float]]:
    """Take ``pairs`` samples of each, back to back, alternating which goes first."""
    firsts: list[float] = []
    seconds: list[float] = []
    for i in range(pairs):
        if i % 2:
            firsts.append(first(i))
            seconds.append(second(i))
        else:
            seconds.append(second(i))
            firsts.append(first(i))
    return firsts, seconds


def median_paired_difference_ms(firsts: list[float], seconds: list[float]) -> float:
    """The median of the paired differences, in milliseconds: each pair ran back to back, so a
    burst of load on the machine shifts both of its samples and cancels out, where two separate
    medians would drift apart with it."""
    return statistics.median(b - a for a, b in zip(firsts, seconds, strict=True)) * 1000


def timed(request: Callable[[], object]) -> float:
    started = time.perf_counter()
    request()
    return time.perf_counter() - started


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
        unknown, wrong = paired_samples(lambda i: sample(UNKNOWN), lambda i: sample(KNOWN), self.PAIRS)
        median_unknown = statistics.median(unknown) * 1000
        median_wrong = statistics.median(wrong) * 1000
        median_difference = median_paired_difference_ms(unknown, wrong)
        self.assertLess(
            abs(median_difference),
            5.0,
            f"median paired difference {median_difference:.2f} ms (medians: unknown user "
            f"{median_unknown:.2f} ms, wrong password {median_wrong:.2f} ms)",
        )
        # Make sure the production hasher was really at work (Argon2id costs tens of ms).
        self.assertGreater(median_wrong, 5.0, f"median wrong password {median_wrong:.2f} ms")


# The test suite's fast hasher: both paths hash once (the login test above times Argon2id), and on
# a shared machine Argon2id's own spread would hide the few milliseconds this test is about.
@override_settings(
    MAILERS=SLOW_MAILER,
    TASKS=DATABASE_TASKS,
    ACCOUNT_EMAIL_CAPS=NO_EMAIL_CAPS,
)
class MailTimingEnumerationTests(CacheClearingTestCase):
    """With the production task backend, reset and sign-up do the same work for every address.

    The immediate backend (development) runs the email task inside the request, so there a known
    address costs the time of sending; TASKS_BACKEND=database leaves that to the worker.
    """

    PAIRS = 60

    def setUp(self) -> None:
        super().setUp()
        self.user = make_user(KNOWN)
        self.client = Client()

    def post(self, path: str, data: dict) -> None:
        response = self.client.post(path, data)
        self.assertEqual(response.status_code, 302)

    def assert_same_time(self, known: Callable[[int], float], unknown: Callable[[int], float]) -> None:
        for i in range(3):  # warm up: templates, hasher, connections
            known(i)
            unknown(i)
        difference = median_paired_difference_ms(*paired_samples(unknown, known, self.PAIRS))
        self.assertLess(abs(difference), 5.0, f"median paired difference {difference:.2f} ms")

    def test_reset_takes_the_same_time_for_known_and_unknown_addresses(self):
        self.assert_same_time(
            lambda i: timed(lambda: self.post("/password/reset/", {"email": KNOWN})),
            lambda i: timed(lambda: self.post("/password/reset/", {"email": UNKNOWN})),
        )
        self.assertEqual(mail.outbox, [], "nothing is sent inside the request")

    def test_signup_takes_the_same_time_for_known_and_new_addresses(self):
        password = "a fresh passphrase 42"
        self.assert_same_time(
            lambda i: timed(lambda: self.post("/signup/", {"email": KNOWN, "password": password})),
            lambda i: timed(
                lambda: self.post(
                    "/signup/", {"email": f"new{i}-{time.monotonic_ns()}@example.com", "password": password}
                )
            ),
        )
        self.assertEqual(mail.outbox, [], "nothing is sent inside the request")


@override_settings(TASKS=DATABASE_TASKS, ACCOUNT_EMAIL_CAPS=NO_EMAIL_CAPS)
class QueuedResetTests(CacheClearingTestCase):
    def test_every_address_queues_one_task_without_a_token_and_the_worker_mails_the_owner(self):
        from django_tasks_db.models import DBTaskResult

        make_user(KNOWN)
        for email in (KNOWN, UNKNOWN):
            self.assertEqual(Client().post("/password/reset/", {"email": email}).status_code, 302)
        queued = list(DBTaskResult.objects.order_by("enqueued_at"))
        self.assertEqual([row.task_path for row in queued], ["authsite.accounts.tasks.send_password_reset"] * 2)
        self.assertEqual(
            [row.args_kwargs["kwargs"] for row in queued],
            [{"address": KNOWN, "language": "en"}, {"address": UNKNOWN, "language": "en"}],
        )
        self.assertEqual(mail.outbox, [])
        for row in queued:  # what db_worker does
            row.task.call(**row.args_kwargs["kwargs"])
        self.assertEqual([m.to for m in mail.outbox], [[KNOWN]])
        link = re.search(r"http://testserver(/password/reset/\S+/)", mail.outbox[0].body).group(1)
        self.assertContains(Client().get(link, follow=True), "Choose a new password")
