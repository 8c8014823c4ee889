"""Requests from the site's scripts get JSON that says where to go, never a silent redirect."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

from django.test import override_settings
from django.utils import timezone

from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, force_login_verified, make_user, totp_device

JSON = "application/json"


class ScriptRedirectTests(CacheClearingTestCase):
    def test_a_lapsed_password_check_answers_json_naming_the_confirm_page(self):
        client = Client()
        force_login_verified(client, make_user())
        reply = client.post("/account/security/webauthn/begin/", "{}", content_type=JSON)
        self.assertEqual(reply.status_code, 401)
        self.assertEqual(reply.json()["redirect"], "/account/reauthenticate/?next=%2Faccount%2Fsecurity%2F")
        self.assertIn("Confirm it", reply.json()["error"])
        # A form post still gets the redirect it always got.
        self.assertRedirects(
            client.post("/account/security/totp/"),
            "/account/reauthenticate/?next=%2Faccount%2Fsecurity%2F",
            fetch_redirect_response=False,
        )

    @override_settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
    def test_an_expired_sign_in_answers_json_and_keeps_its_message_for_the_page(self):
        user = make_user()
        totp_device(user)
        client = Client()
        client.post("/login/", {"email": user.email, "password": PASSWORD})
        later = timezone.now() + timedelta(hours=1)
        with mock.patch("authsite.core.clock.now", return_value=later):
            reply = client.post("/login/verify/webauthn/begin/", json.dumps({}), content_type=JSON)
        self.assertEqual(reply.status_code, 401)
        self.assertEqual(reply.json()["redirect"], "/login/")
        self.assertContains(client.get("/login/"), "Your sign-in took too long and has expired")


class NoScriptTests(CacheClearingTestCase):
    def test_pages_with_passkey_buttons_say_they_need_javascript(self):
        note = '<noscript><p class="webauthn-status error">This needs JavaScript'
        self.assertContains(Client().get("/login/"), note, count=1)
        client = Client()
        force_login_verified(client, make_user())
        self.assertContains(client.get("/account/security/"), note, count=1)
