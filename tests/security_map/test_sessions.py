"""ASVS 7.4.3: a factor change ends the account's other sessions (password change: tests/accounts)."""

from __future__ import annotations

from authsite.accounts.reauth import SESSION_REAUTH_AT
from authsite.core import clock
from factors import services
from factors.models import TOTPDevice
from factors.registry import Strength
from factors.stepup import factor_reauth_mark
from tests.base import BrowserClient as Client
from tests.helpers import CacheClearingTestCase, force_login_verified, make_user


class FactorChangeEndsOtherSessionsTests(CacheClearingTestCase):
    def setUp(self):
        super().setUp()
        self.user = make_user()
        enrollment = services.factor_enroll_totp_begin(user=self.user, name="Phone app")
        enrollment.device.confirmed = True
        enrollment.device.save()
        self.device = enrollment.device
        self.here, self.elsewhere = Client(), Client()
        force_login_verified(self.here, self.user)
        force_login_verified(self.elsewhere, self.user)
        session = self.here.session
        session[SESSION_REAUTH_AT] = clock.timestamp()
        factor_reauth_mark(session, Strength.PHISHING_RESISTANT)
        session.save()
        self.assertEqual(self.elsewhere.get("/account/security/").status_code, 200)

    def test_removing_a_factor_signs_the_other_browser_out(self):
        response = self.here.post("/account/security/remove/", {"device": self.device.persistent_id})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(TOTPDevice.objects.filter(pk=self.device.pk).exists())
        self.assertEqual(self.here.get("/account/security/").status_code, 200)
        self.assertEqual(self.elsewhere.get("/account/security/").status_code, 302)
