"""Credential stuffing and password spraying against the real adaptive sign-in (/login/)."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from authsite.accounts.models import User
from factors.models import TOTPDevice
from tests.helpers import PASSWORD, make_user, totp_device
from tests.security.base import (
    CHALLENGE,
    LAPTOP,
    OSLO,
    OSLO_2,
    SCRIPT,
    AdaptiveFlowTestCase,
    client_for,
    learn_history,
)

LOGIN = "/login/"


def classify(response, client) -> str:
    if SESSION_KEY in client.session:
        return "signed_in"
    if response.status_code == 429:
        return "throttled"
    if response.status_code == 302 and response["Location"] == CHALLENGE:
        return "challenged"
    if response.status_code == 302 and response["Location"] == LOGIN:
        return "denied"
    if response.status_code == 200:
        return "wrong_password"
    return f"other:{response.status_code}"


class CredentialStuffingTests(AdaptiveFlowTestCase):
    def test_a_thousand_leaked_pairs_from_rotating_addresses_never_sign_anyone_in(self):
        factor_users = [make_user(f"totp{i}@example.com") for i in range(5)]
        for user in factor_users:
            totp_device(user)
        plain_users = [make_user(f"plain{i}@example.com") for i in range(5)]
        for user in plain_users:
            learn_history(user, ip=OSLO, ua=LAPTOP, device=f"home-laptop-device-{user.pk:04d}")
        correct = {u.email for u in factor_users + plain_users}
        pairs = [(u.email, PASSWORD) for u in factor_users + plain_users]
        pairs += [(f"victim{i % 400}@example.com", f"leaked password {i}") for i in range(970)]
        pairs += [(u.email, "an old leaked password") for u in factor_users + plain_users] * 2
        # Spread the real hits through the list, as a combo list would.
        pairs.sort(key=lambda p: hash(p) % 997)
        self.assertEqual(len(pairs), 1000)

        outcomes: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        for i, (email, password) in enumerate(pairs):
            # A new address and a fresh client (no cookies) for every attempt.
            client = client_for(f"198.18.{i // 200}.{i % 200 + 1}", SCRIPT)
            response = client.post(LOGIN, {"email": email, "password": password})
            outcome = classify(response, client)
            outcomes[outcome] += 1
            if email in correct and password == PASSWORD:
                hits[outcome] += 1
                self.assertIn(outcome, {"challenged", "denied"}, f"{email}: {outcome}")

        self.assertEqual(outcomes["signed_in"], 0, outcomes)
        self.assertEqual(sum(hits.values()), 10, hits)
        self.assertEqual(outcomes["wrong_password"] + outcomes["throttled"], 990, outcomes)
        self.assertEqual(set(outcomes) - {"challenged", "denied", "wrong_password", "throttled"}, set(), outcomes)


class PasswordSprayingTests(AdaptiveFlowTestCase):
    SPRAYED = "Autumn2026 is here"

    def test_one_password_against_500_accounts_is_throttled_or_challenged_and_real_users_get_in(self):
        # 500 accounts; three of them really use the sprayed password.
        hashed = make_password("each user has their own password")
        now = timezone.now()
        User.objects.bulk_create(
            User(email=f"staff{i:03d}@example.com", password=hashed, email_verified_at=now, last_login=now)
            for i in range(495)
        )
        weak = [make_user(f"weak{i}@example.com", password=self.SPRAYED) for i in range(3)]
        strong = [make_user(f"regular{i}@example.com") for i in range(2)]
        totp_device(weak[0])
        for user in weak + strong:
            learn_history(user, ip=OSLO, ua=LAPTOP, device=f"usual-laptop-device-{user.pk:04d}")
        targets = list(User.objects.order_by("?").values_list("email", flat=True))
        self.assertEqual(len(targets), 500)

        ip_cap = settings.LOGIN_THROTTLE["IP_MAX_FAILURES"]
        addresses = [f"198.51.100.{n}" for n in (50, 51, 52)]
        current = 0
        outcomes: Counter[str] = Counter()
        failures_per_ip: Counter[str] = Counter()
        for email in targets:
            while True:
                client = client_for(addresses[current], SCRIPT)
                response = client.post(LOGIN, {"email": email, "password": self.SPRAYED})
                outcome = classify(response, client)
                outcomes[outcome] += 1
                if outcome == "throttled" and current + 1 < len(addresses):
                    current += 1  # the attacker moves to the next address
                    continue
                break
            if outcome == "wrong_password":
                failures_per_ip[addresses[current]] += 1
            if email.startswith("weak"):
                self.assertIn(outcome, {"challenged", "denied", "throttled"}, f"{email}: {outcome}")
            self.assertNotIn(SESSION_KEY, client.session)

        self.assertEqual(outcomes["signed_in"], 0, outcomes)
        self.assertGreaterEqual(outcomes["throttled"], 1, outcomes)
        self.assertEqual(failures_per_ip[addresses[0]], ip_cap, failures_per_ip)
        self.assertFalse(TOTPDevice.objects.filter(user=weak[0], throttling_failure_count__gt=0).exists())

        # The real owners, from their usual laptop at home, still sign in with the password alone.
        for user in weak + strong:
            owner = client_for(OSLO_2, LAPTOP, f"usual-laptop-device-{user.pk:04d}")
            password = self.SPRAYED if user in weak else PASSWORD
            response = owner.post(LOGIN, {"email": user.email, "password": password})
            self.assertRedirects(response, "/", fetch_redirect_response=False)
            self.assertEqual(owner.session[SESSION_KEY], str(user.pk))
