"""Sign-up with email confirmation, password rules (NIST SP 800-63B), enumeration resistance."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

from django.core import mail
from django.utils import timezone

from authsite.accounts.models import User
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user, normalized_body


def activation_path(message) -> str:
    return re.search(r"http://testserver(/signup/activate/\S+)", message.body).group(1)


class SignupTests(CacheClearingTestCase):
    def signup(self, email="new@example.com", password=PASSWORD, client=None):
        return (client or self.client).post("/signup/", {"email": email, "password": password})

    def test_signup_page_has_labels_and_autocomplete(self):
        response = self.client.get("/signup/")
        self.assertContains(response, '<label for="id_email">Email address</label>', html=True)
        self.assertContains(response, 'autocomplete="new-password"')
        self.assertContains(response, 'aria-describedby="id_password_helptext"')

    def test_signup_confirm_then_sign_in(self):
        response = self.signup()
        self.assertRedirects(response, "/signup/done/", fetch_redirect_response=False)
        user = User.objects.get(email="new@example.com")
        self.assertFalse(user.is_active)
        self.assertEqual(len(mail.outbox), 1)
        path = activation_path(mail.outbox[0])
        self.assertContains(self.client.get(path), "Confirm and activate")
        self.assertFalse(User.objects.get(pk=user.pk).is_active, "GET must not change state")
        response = self.client.post(path, {"password": PASSWORD}, follow=True)
        self.assertContains(response, "Your email address is confirmed")
        user.refresh_from_db()
        self.assertTrue(user.is_active)
        self.assertIsNotNone(user.email_verified_at)
        # The link works once.
        self.assertEqual(self.client.post(path, {"password": PASSWORD}).status_code, 400)
        login = self.client.post("/login/", {"email": "new@example.com", "password": PASSWORD})
        self.assertEqual(login.status_code, 302)

    def test_activation_link_expires(self):
        self.signup()
        path = activation_path(mail.outbox[0])
        with mock.patch("django.core.signing.time.time", return_value=timezone.now().timestamp() + 4 * 86400):
            self.assertEqual(self.client.get(path).status_code, 400)

    def test_tampered_activation_link_is_refused(self):
        self.signup()
        path = activation_path(mail.outbox[0])
        self.assertEqual(self.client.get(path[:-3] + "AAA/").status_code, 400)

    def test_existing_email_gets_the_same_response_and_an_email_to_the_owner(self):
        make_user("taken@example.com")
        fresh = self.signup("fresh@example.com", client=Client())
        taken = self.signup("taken@example.com", client=Client())
        self.assertEqual(fresh.status_code, taken.status_code)
        self.assertEqual(fresh["Location"], taken["Location"])
        self.assertEqual(sorted(fresh.cookies.keys()), sorted(taken.cookies.keys()))
        done_fresh = Client().get(fresh["Location"])
        done_taken = Client().get(taken["Location"])
        self.assertEqual(normalized_body(done_fresh.content), normalized_body(done_taken.content))
        self.assertEqual(len(mail.outbox), 2)
        self.assertIn("Nothing was changed", mail.outbox[1].body)
        self.assertNotIn("activate", mail.outbox[1].body)
        self.assertEqual(User.objects.filter(email="taken@example.com").count(), 1)

    def test_email_is_stored_lower_case_and_unique_case_insensitively(self):
        self.signup("Mixed@Example.COM")
        self.signup("mixed@example.com")
        self.assertEqual(User.objects.filter(email__iexact="mixed@example.com").count(), 1)

    def test_unconfirmed_signup_again_resends_and_takes_the_new_password(self):
        self.signup(password="first passphrase 1")
        self.signup(password="second passphrase 2")
        self.assertEqual(len(mail.outbox), 2)
        self.client.post(activation_path(mail.outbox[1]), {"password": "second passphrase 2"})
        old_link = self.client.post(activation_path(mail.outbox[0]), {"password": "first passphrase 1"})
        self.assertEqual(old_link.status_code, 400)
        ok = self.client.post("/login/", {"email": "new@example.com", "password": "second passphrase 2"})
        self.assertEqual(ok.status_code, 302)

    def test_activation_needs_the_password_so_a_second_sign_up_cannot_take_the_account(self):
        # The owner signs up; someone else signs up with the owner's address and their own password.
        self.signup(password="owner passphrase 1")
        self.signup(password="intruder passphrase 2", client=Client())
        page = self.client.get(activation_path(mail.outbox[1]))
        self.assertContains(
            page, '<label for="id_password">The password you chose when you signed up</label>', html=True
        )
        # The owner follows the newest link with their own password: refused, nothing activated.
        with self.assertLogs("authsite.events") as logs:
            refused = self.client.post(activation_path(mail.outbox[1]), {"password": "owner passphrase 1"})
        self.assertContains(refused, "That is not the password this account was created with")
        self.assertContains(refused, 'aria-invalid="true"')
        self.assertIn("authn_activation_fail", [r.getMessage() for r in logs.records])
        self.assertFalse(User.objects.get(email="new@example.com").is_active)
        intruder = Client().post("/login/", {"email": "new@example.com", "password": "intruder passphrase 2"})
        self.assertEqual(intruder.status_code, 200, "an inactive account does not sign in")
        # Signing up again puts the owner's password back; the new link activates with it.
        self.signup(password="owner passphrase 1")
        done = self.client.post(activation_path(mail.outbox[2]), {"password": "owner passphrase 1"})
        self.assertRedirects(done, "/login/", fetch_redirect_response=False)
        self.assertEqual(
            Client().post("/login/", {"email": "new@example.com", "password": "intruder passphrase 2"}).status_code, 200
        )

    def test_activation_without_a_password_changes_nothing(self):
        self.signup()
        for data in ({}, {"password": ""}, {"password": "p" * 1_000_000}):
            response = self.client.post(activation_path(mail.outbox[0]), data)
            self.assertEqual(response.status_code, 200)
        self.assertFalse(User.objects.get(email="new@example.com").is_active)

    def test_length_rules(self):
        cases = {
            "seven77": False,
            "eight888": True,
            "y" * 63 + "Z": True,
            "long passphrase " * 8: True,  # 128 characters
        }
        for i, (password, accepted) in enumerate(cases.items()):
            with self.subTest(length=len(password)):
                response = self.signup(f"len{i}@example.com", password)
                self.assertEqual(response.status_code == 302, accepted, response.content[:200])
        self.assertContains(self.signup("short@example.com", "seven77"), "at least 8 characters")

    def test_oversized_password_refused_with_message(self):
        response = self.signup(password="p" * 1_000_000)
        self.assertContains(response, "This password is too long")
        self.assertFalse(User.objects.exists())

    def test_no_composition_rules(self):
        for i, password in enumerate(["all lower case words", "пароль для проверки", "🔐🔑🗝️ emoji passphrase"]):
            with self.subTest(password=password):
                self.assertEqual(self.signup(f"c{i}@example.com", password).status_code, 302)

    def test_common_and_context_passwords_refused_with_reason(self):
        common = self.signup(password="password123")
        self.assertContains(common, "This password is too common.")
        similar = self.signup("margaretthatcher@example.com", "margaretthatcher")
        self.assertContains(similar, "too similar to the email address")
        self.assertFalse(User.objects.exists())

    def test_bad_email_is_a_field_error(self):
        response = self.signup("not-an-email")
        self.assertContains(response, "Enter a valid email address.")
        self.assertContains(response, 'aria-invalid="true"')
        self.assertContains(response, 'id="id_email_error"')

    def test_the_first_field_with_an_error_gets_the_focus(self):
        body = self.signup("new@example.com", "short").content.decode()
        self.assertRegex(body, r'<input[^>]*name="password"[^>]*autofocus')
        self.assertNotRegex(body, r'<input[^>]*name="email"[^>]*autofocus')
        self.assertEqual(body.count("autofocus"), 1)

    def test_signed_in_user_is_sent_home(self):
        user = make_user()
        self.client.force_login(user)
        self.assertRedirects(self.client.get("/signup/"), "/", fetch_redirect_response=False)

    def test_activation_state_changes_after_activation(self):
        self.signup()
        user = User.objects.get()
        user.is_active = True
        user.email_verified_at = timezone.now() - timedelta(days=1)
        user.save()
        self.assertEqual(self.client.get(activation_path(mail.outbox[0])).status_code, 400)
