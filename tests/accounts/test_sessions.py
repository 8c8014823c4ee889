"""Server-side idle and absolute session timeouts."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.test import override_settings
from django.utils import timezone

from tests.helpers import PASSWORD, CacheClearingTestCase, make_user


class SessionTimeoutTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        self.start = timezone.now()

    def at(self, seconds: float):
        return mock.patch("authsite.core.clock.now", return_value=self.start + timedelta(seconds=seconds))

    def signed_in(self) -> bool:
        return self.client.get("/").wsgi_request.user.is_authenticated

    def test_idle_timeout_defaults_to_30_minutes(self):
        with self.at(29 * 60):
            self.assertTrue(self.signed_in())
        with self.at(29 * 60 + 30 * 60 + 5), self.assertLogs("authsite.events") as logs:
            response = self.client.get("/", follow=True)
        self.assertRedirects(response, "/login/")
        self.assertContains(response, "Your session has ended")
        self.assertTrue(any("session_expired" in line for line in logs.output))
        self.assertFalse(self.signed_in())

    def test_activity_keeps_the_session_alive_until_the_absolute_limit(self):
        for minutes in range(20, 12 * 60, 20):
            with self.at(minutes * 60):
                self.assertTrue(self.signed_in(), f"signed out after {minutes} minutes of activity")
        with self.at(12 * 3600 + 1):
            self.assertFalse(self.signed_in())

    @override_settings(SESSION_IDLE_TIMEOUT=60, SESSION_ABSOLUTE_TIMEOUT=300)
    def test_timeouts_come_from_settings(self):
        with self.at(61):
            self.assertFalse(self.signed_in())

    def test_expired_session_cookie_stays_dead(self):
        cookie = self.client.cookies["sessionid"].value
        with self.at(31 * 60):
            self.signed_in()
        self.client.cookies["sessionid"] = cookie
        self.assertFalse(self.signed_in())
