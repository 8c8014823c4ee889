"""Two (or more) parallel requests with the same code: exactly one succeeds (ASVS 6.5.1).

Threads need real, separately committed transactions, so this is a TransactionTestCase. SQLite
cannot show the property: its in-memory test database is shared between threads through one
cache and serialises whole-database writes ("database table is locked"), and it ignores
SELECT ... FOR UPDATE. The test therefore runs on PostgreSQL only; CI runs the suite with
DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import re
import threading
import unittest
from unittest import mock

from django.core import mail
from django.db import connection

from factors import otp
from factors.models import EmailDevice, RecoveryCodeDevice, TOTPDevice
from factors.services import (
    SendStatus,
    VerifyStatus,
    factor_recovery_codes_generate,
    factor_send_code,
    factor_verify,
)
from tests.base import TransactionTestCase
from tests.factors.base import FactorsTestMixin
from tests.helpers import make_user, unique_email

THREADS = 6


@unittest.skipUnless(connection.vendor == "postgresql", "row locks need PostgreSQL (see module docstring)")
class ParallelSingleUseTests(FactorsTestMixin, TransactionTestCase):
    def race(self, device_id: str, response: str, bind: str | None = None) -> list[VerifyStatus]:
        barrier = threading.Barrier(THREADS)
        results: list[VerifyStatus] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def attempt() -> None:
            try:
                barrier.wait(timeout=10)
                status = factor_verify(device_id=device_id, user=self.user, response=response, bind=bind).status
                with lock:
                    results.append(status)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), THREADS)
        return results

    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())

    def test_totp_code_succeeds_once(self):
        device = TOTPDevice(user=self.user, name="App", confirmed=True)
        device.set_key(b"\x07" * 20)
        device.save()
        code = otp.totp(b"\x07" * 20, self.clock())
        results = self.race(device.persistent_id, code)
        self.assertEqual(results.count(VerifyStatus.OK), 1)
        self.assertNotIn(VerifyStatus.OK, [r for r in results if r is not VerifyStatus.OK])
        self.assertEqual(TOTPDevice.objects.get(pk=device.pk).last_t, otp.time_step(self.clock()))

    def test_recovery_code_succeeds_once(self):
        codes = factor_recovery_codes_generate(user=self.user)
        device = RecoveryCodeDevice.objects.get(user=self.user)
        results = self.race(device.persistent_id, codes[0])
        self.assertEqual(results.count(VerifyStatus.OK), 1)
        self.assertEqual(device.codes.filter(used_at__isnull=True).count(), 9)

    def test_email_code_succeeds_once(self):
        device = EmailDevice.objects.create(user=self.user, name="Email", email=self.user.email, confirmed=True)
        with mock.patch("factors.seams.random_digits", return_value="135791"):
            sent = factor_send_code(user=self.user, device_id=device.persistent_id, bind="login-1")
        self.assertEqual(sent.status, SendStatus.SENT)
        self.assertEqual(re.findall(r"\d{6}", mail.outbox[-1].body), ["135791"])
        results = self.race(device.persistent_id, "135791", bind="login-1")
        self.assertEqual(results.count(VerifyStatus.OK), 1)
