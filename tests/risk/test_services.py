from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import override_settings

from risk.decision import Decision
from risk.models import UserLoginStats
from risk.services import login_assess, login_failed, login_succeeded
from tests.base import TestCase

from .factories import T0, ctx


@override_settings(RISK_THRESHOLDS={"CHALLENGE": -1.3, "CHALLENGE_STRONG": 3.0, "DENY": 9.0})
class ServiceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        cls.users = [User.objects.create_user(email=f"u{i}@example.com", password="x" * 12) for i in range(3)]

    def setUp(self):
        cache.clear()

    def test_first_sign_in_then_learned_history(self):
        user = self.users[0]
        self.assertEqual(login_assess(context=ctx(user.pk)).decision, Decision.CHALLENGE)
        for i in range(10):
            login_succeeded(context=ctx(user.pk, minutes=i * 60 * 24, device_id="cookie"))
        for other in self.users[1:]:
            for i in range(5):
                login_succeeded(context=ctx(other.pk, ip="198.51.100.9", asn=64501, minutes=i * 600))
        self.assertEqual(UserLoginStats.objects.get(user=user).n_success, 10)
        usual = login_assess(context=ctx(user.pk, minutes=60 * 24 * 11, device_id="cookie"))
        self.assertEqual(usual.decision, Decision.ALLOW)

    def test_failures_from_one_address_across_accounts_raise_the_bar(self):
        # Six accounts (existing or not) fail from one address within the window.
        for k, account in enumerate([u.pk for u in self.users] + ["x1", "x2", "x3"]):
            login_failed(user_id=account, ip="203.0.113.50", at=T0.replace(minute=k))
        result = login_assess(context=ctx(self.users[0].pk, ip="203.0.113.50", at=T0.replace(minute=8)))
        self.assertIn("password_spraying", result.reason_codes)
        self.assertEqual(result.decision, Decision.CHALLENGE_STRONG)
