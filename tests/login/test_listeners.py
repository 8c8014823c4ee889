"""Login listeners hear about password failures and finished sign-ins, and cannot break them."""

from __future__ import annotations

from django.test import override_settings

from authsite.login.listeners import LoginListener
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user

heard: list[tuple] = []


class RecordingListener(LoginListener):
    def password_failed(self, request, *, username):
        heard.append(("failed", username))

    def login_succeeded(self, request, response, *, user, pending):
        heard.append(("succeeded", user.email, pending.user_id))
        response.set_cookie("listener", "was-here")


class BrokenListener(LoginListener):
    def password_failed(self, request, *, username):
        raise RuntimeError("boom")

    def login_succeeded(self, request, response, *, user, pending):
        raise RuntimeError("boom")


@override_settings(LOGIN_STAGES=[])
class ListenerTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        heard.clear()
        self.user = make_user()

    @override_settings(LOGIN_LISTENERS=["tests.login.test_listeners.RecordingListener"])
    def test_listeners_hear_failures_and_successes_and_may_set_cookies(self):
        self.client.post("/login/", {"email": "ALICE@example.com", "password": "wrong password"})
        response = self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        self.assertEqual(heard, [("failed", "alice@example.com"), ("succeeded", self.user.email, self.user.pk)])
        self.assertEqual(response.cookies["listener"].value, "was-here")

    @override_settings(LOGIN_LISTENERS=["tests.login.test_listeners.BrokenListener"])
    def test_a_failing_listener_is_logged_and_the_sign_in_goes_on(self):
        with self.assertLogs("authsite.login", "ERROR") as logs:
            self.client.post("/login/", {"email": self.user.email, "password": "wrong password"})
            response = self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(self.client.get("/").wsgi_request.user.is_authenticated)
        self.assertEqual(len(logs.output), 2)
