"""Login events in the admin (read-only, with reasons); remembered devices revoked by user and admin."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from risk.models import LoginEvent, TrustedDevice
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, force_login_verified, make_login_event, make_user


def event(user, **extra) -> LoginEvent:
    """A strongly challenged sign-in from Sydney with one reason (the admin's detail page)."""
    values = {
        "ip": "203.0.113.5",
        "country": "AU",
        "city": "Sydney",
        "network": "AS16509",
        "score": 6.64,
        "decision": "challenge_strong",
        "reasons": [{"code": "impossible_travel", "text": "This sign-in is too far from your last one"}],
        "outcome": LoginEvent.Outcome.PENDING,
    }
    return make_login_event(user, **{**values, **extra})


def remembered(user, label="Chrome on Mac OS X (Oslo, NO)") -> TrustedDevice:
    now = timezone.now()
    return TrustedDevice.objects.create(
        user=user,
        token_hash=label[:8] + "0" * 56,
        binding="b",
        label=label,
        created_at=now,
        expires_at=now + timedelta(days=30),
    )


class LoginEventAdminTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        self.event = event(self.user)
        self.staff = make_user("admin@example.com", is_staff=True, is_superuser=True)

    def test_staff_with_verified_session_sees_every_attempt_with_reasons(self):
        force_login_verified(self.client, self.staff)
        listing = self.client.get("/admin/risk/loginevent/")
        self.assertContains(listing, "Sydney, AU")
        self.assertContains(listing, "6.64")
        self.assertContains(listing, "challenge_strong")
        detail = self.client.get(f"/admin/risk/loginevent/{self.event.pk}/change/")
        self.assertContains(
            detail, "<code>impossible_travel</code>: This sign-in is too far from your last one", html=True
        )
        filtered = self.client.get("/admin/risk/loginevent/", {"decision": "allow"})
        self.assertNotContains(filtered, "Sydney, AU")
        searched = self.client.get("/admin/risk/loginevent/", {"q": "203.0.113.5"})
        self.assertContains(searched, "Sydney, AU")

    def test_reasons_show_their_weights(self):
        from risk.policy import Reason

        weighted = event(
            self.user,
            reasons=[
                Reason("impossible_travel", "Too far", 2.5).as_dict(),
                Reason("known_device", "Seen before", -2.0).as_dict(),
            ],
        )
        force_login_verified(self.client, self.staff)
        detail = self.client.get(f"/admin/risk/loginevent/{weighted.pk}/change/")
        self.assertContains(detail, "<div><code>impossible_travel</code>: Too far (+2.50)</div>", html=True)
        self.assertContains(detail, "<div><code>known_device</code>: Seen before (-2.00)</div>", html=True)

    def test_events_are_read_only(self):
        force_login_verified(self.client, self.staff)
        self.assertEqual(self.client.get("/admin/risk/loginevent/add/").status_code, 403)
        response = self.client.post(f"/admin/risk/loginevent/{self.event.pk}/delete/", {"post": "yes"})
        self.assertEqual(response.status_code, 403)
        self.assertTrue(LoginEvent.objects.filter(pk=self.event.pk).exists())

    def test_non_staff_and_unverified_staff_get_nothing(self):
        force_login_verified(self.client, self.user)
        self.assertNotEqual(self.client.get("/admin/risk/loginevent/").status_code, 200)
        unverified = Client()
        unverified.force_login(self.staff)
        self.assertNotEqual(unverified.get("/admin/risk/loginevent/").status_code, 200)

    def test_admin_revokes_remembered_devices(self):
        device = remembered(self.user)
        force_login_verified(self.client, self.staff)
        self.client.post("/admin/risk/trusteddevice/", {"action": "revoke", "_selected_action": [device.pk]})
        device.refresh_from_db()
        self.assertIsNotNone(device.revoked_at)


class UserRememberedDeviceTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})

    def test_security_page_lists_and_forgets_one_or_all(self):
        first, second = remembered(self.user, "Firefox on Linux (Oslo, NO)"), remembered(self.user, "Safari on iOS")
        stranger_device = remembered(make_user("mallory@example.com"), "Mallory's laptop")
        page = self.client.get("/account/security/")
        self.assertContains(page, "Firefox on Linux (Oslo, NO)")
        self.assertNotContains(page, "Mallory")
        self.client.post("/account/security/devices/forget/", {"device": first.pk})
        first.refresh_from_db()
        second.refresh_from_db()
        self.assertIsNotNone(first.revoked_at)
        self.assertIsNone(second.revoked_at)
        self.client.post("/account/security/devices/forget/", {"device": stranger_device.pk})
        stranger_device.refresh_from_db()
        self.assertIsNone(stranger_device.revoked_at)
        self.client.post("/account/security/devices/forget/", {"device": "all"})
        second.refresh_from_db()
        self.assertIsNotNone(second.revoked_at)
        self.assertContains(self.client.get("/account/security/"), "None. After a second step")

    def test_forgetting_needs_post_and_csrf(self):
        device = remembered(self.user)
        self.assertEqual(self.client.get("/account/security/devices/forget/").status_code, 405)
        csrf_client = Client(enforce_csrf_checks=True)
        csrf_client.cookies = self.client.cookies
        self.assertEqual(csrf_client.post("/account/security/devices/forget/", {"device": device.pk}).status_code, 403)
        device.refresh_from_db()
        self.assertIsNone(device.revoked_at)
