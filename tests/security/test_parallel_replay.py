"""TOTP replay: the same code posted by two sign-in attempts at the same moment succeeds once.

Real, separately committed transactions from two threads: a TransactionTestCase. SQLite's
in-memory test database serialises whole-database writes and ignores SELECT ... FOR UPDATE, so
the race cannot be staged there; this runs on PostgreSQL (DATABASE_URL) only.
"""

from __future__ import annotations

import threading
import unittest

from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from factors import otp
from factors.models import TOTPDevice
from tests.base import BrowserClient as Client
from tests.base import TransactionTestCase
from tests.helpers import PASSWORD, make_user, totp_device
from tests.security.base import CHALLENGE


@unittest.skipUnless(connection.vendor == "postgresql", "row locks need PostgreSQL (see module docstring)")
@override_settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
class ParallelTotpReplayTests(TransactionTestCase):
    def setUp(self) -> None:
        cache.clear()
        self.addCleanup(cache.clear)

    def test_two_parallel_challenge_posts_with_one_code_sign_in_exactly_once(self):
        user = make_user()
        device, key = totp_device(user)
        clients = [Client(REMOTE_ADDR=f"198.18.3.{n}") for n in (1, 2)]
        for client in clients:
            client.post("/login/", {"email": user.email, "password": PASSWORD})
        code = otp.totp(key, timezone.now())
        barrier = threading.Barrier(len(clients))
        responses: dict[int, object] = {}
        errors: list[BaseException] = []

        def attempt(n: int) -> None:
            try:
                barrier.wait(timeout=10)
                responses[n] = clients[n].post(
                    CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code}
                )
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(clients))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        self.assertEqual(errors, [])
        signed_in = [n for n, client in enumerate(clients) if client.session.get(SESSION_KEY) == str(user.pk)]
        self.assertEqual(len(signed_in), 1, {n: r.status_code for n, r in responses.items()})
        loser = 1 - signed_in[0]
        self.assertEqual(responses[signed_in[0]]["Location"], "/")
        self.assertNotEqual(responses[loser].status_code, 500)
        self.assertNotEqual(responses[loser].get("Location"), "/")
        self.assertContains(responses[loser], "already used")
        self.assertIsNotNone(TOTPDevice.objects.get(pk=device.pk).last_t)
