"""Password change and reset: rules, other sessions ended, no sign-in after reset."""

from __future__ import annotations

import re

from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from tests.helpers import PASSWORD, CacheClearingTestCase, make_user, normalized_body

NEW = "a brand new passphrase"


class PasswordChangeTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        self.other = Client()
        self.other.post("/login/", {"email": self.user.email, "password": PASSWORD})

    def change(self, old=PASSWORD, new=NEW):
        return self.client.post("/password/change/", {"old_password": old, "new_password1": new, "new_password2": new})

    def test_change_requires_sign_in(self):
        response = Client().get("/password/change/")
        self.assertRedirects(response, "/login/?next=/password/change/", fetch_redirect_response=False)

    def test_change_keeps_this_session_and_ends_the_others(self):
        with self.assertLogs("authsite.events") as logs:
            response = self.change()
        self.assertRedirects(response, "/password/change/done/")
        self.assertTrue(self.client.get("/").wsgi_request.user.is_authenticated)
        self.assertFalse(self.other.get("/").wsgi_request.user.is_authenticated)
        self.assertIn("authn_password_change", "".join(logs.output))
        self.assertEqual(mail.outbox[-1].subject, "Adaptive MFA: your password was changed")
        self.assertIn("every other session was signed out", mail.outbox[-1].body)
        self.user.refresh_from_db()
        self.assertTrue(self.user.check_password(NEW))

    def test_change_with_wrong_current_password(self):
        response = self.change(old="not my password")
        self.assertContains(response, "Your old password was entered incorrectly")

    def test_change_rules_match_signup(self):
        self.assertContains(self.change(new="seven77"), "at least 8 characters")
        self.assertContains(self.change(new="x" * 1_000_000), "This password is too long")
        self.assertContains(self.change(new="alice@example.com"), "too similar")
        self.assertRedirects(self.change(new="eight888"), "/password/change/done/")


class PasswordResetTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()
        self.signed_in = Client()
        self.signed_in.post("/login/", {"email": self.user.email, "password": PASSWORD})

    def request_reset(self, email="alice@example.com", client=None):
        return (client or self.client).post("/password/reset/", {"email": email})

    def reset_link(self) -> str:
        links = [re.search(r"http://testserver(/password/reset/[^/\s]+/[^/\s]+/)", m.body) for m in mail.outbox]
        return [link for link in links if link][-1].group(1)

    def test_reset_flow_ends_sessions_and_does_not_sign_in(self):
        self.assertRedirects(self.request_reset(), "/password/reset/done/")
        # Named like every other email of the site, not after the request's host.
        self.assertEqual(mail.outbox[-1].subject, "Adaptive MFA: reset your password")
        self.assertIn("your Adaptive MFA account", mail.outbox[-1].body)
        form_page = self.client.get(self.reset_link(), follow=True)
        self.assertContains(form_page, "Choose a new password")
        set_url = form_page.redirect_chain[-1][0]
        with self.assertLogs("authsite.events") as logs:
            response = self.client.post(set_url, {"new_password1": NEW, "new_password2": NEW})
        self.assertRedirects(response, "/password/reset/complete/")
        self.assertNotIn(SESSION_KEY, self.client.session)
        self.assertFalse(self.signed_in.get("/").wsgi_request.user.is_authenticated)
        self.assertIn("authn_password_reset", "".join(logs.output))
        self.assertEqual(mail.outbox[-1].subject, "Adaptive MFA: your password was reset")
        self.assertEqual(Client().post("/login/", {"email": self.user.email, "password": NEW}).status_code, 302)
        # Single use.
        again = self.client.get(self.reset_link(), follow=True)
        self.assertContains(again, "This link no longer works")

    def test_reset_rules(self):
        self.request_reset()
        set_url = self.client.get(self.reset_link(), follow=True).redirect_chain[-1][0]
        response = self.client.post(set_url, {"new_password1": "short1", "new_password2": "short1"})
        self.assertContains(response, "at least 8 characters")
        # Under "New password", where it was typed, not under the repetition.
        self.assertIn("at least 8 characters", " ".join(response.context["form"].errors["new_password1"]))
        self.assertNotIn("new_password2", response.context["form"].errors)
        response = self.client.post(set_url, {"new_password1": "z" * 1_000_000, "new_password2": "z"})
        self.assertContains(response, "This password is too long")

    def test_unknown_and_known_email_get_identical_responses(self):
        known = self.request_reset("alice@example.com", Client())
        unknown = self.request_reset("zelda@example.com", Client())
        self.assertEqual((known.status_code, known["Location"]), (unknown.status_code, unknown["Location"]))
        self.assertEqual(sorted(known.cookies.keys()), sorted(unknown.cookies.keys()))
        self.assertEqual(
            normalized_body(Client().get(known["Location"]).content),
            normalized_body(Client().get(unknown["Location"]).content),
        )
        self.assertEqual(len(mail.outbox), 1)
