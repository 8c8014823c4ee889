"""Rules of the code base that a test can hold: no `random` module, no sends as a side effect."""

from __future__ import annotations

import ast
from pathlib import Path

import factors
from factors.models import EmailDevice, SMSDevice
from factors.sms.backends import locmem
from tests.base import SimpleTestCase, TestCase
from tests.factors.base import FactorsTestMixin
from tests.helpers import make_user, unique_email

FACTORS_DIR = Path(factors.__file__).parent


class SourceRulesTests(SimpleTestCase):
    def test_no_random_module_in_authentication_code(self):
        """ASVS 6.5.3: codes and keys come from `secrets` only."""
        offenders = []
        for path in FACTORS_DIR.rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                if any(name == "random" or name.startswith("random.") for name in names):
                    offenders.append(str(path.relative_to(FACTORS_DIR)))
        self.assertEqual(offenders, [])
        self.assertGreater(len(list(FACTORS_DIR.rglob("*.py"))), 10)


class NoSendAsSideEffectTests(FactorsTestMixin, TestCase):
    def test_django_otp_generate_challenge_does_not_send(self):
        """Generic django-otp code (forms, admin) must not be able to trigger a text or email."""
        user = make_user(unique_email())
        sms = SMSDevice.objects.create(
            user=user, name="Phone", phone_number="+447911123456", calling_code=44, confirmed=True
        )
        email = EmailDevice.objects.create(user=user, name="Email", email=user.email, confirmed=True)
        for device in (sms, email):
            with self.subTest(device=device.factor_kind), self.assertRaises(NotImplementedError):
                device.generate_challenge()
        self.assertEqual(locmem.outbox, [])
        sms.refresh_from_db()
        self.assertEqual(sms.token_hash, "")
