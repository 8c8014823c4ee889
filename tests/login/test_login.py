"""The password step: sign-in, failures, enumeration, redirects, CSRF, malformed input."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.test import override_settings

from authsite.accounts.models import User
from tests.base import BrowserClient as Client
from tests.helpers import OPEN_REDIRECT_TARGETS, PASSWORD, CacheClearingTestCase, make_user
from tests.runner import PRODUCTION_PASSWORD_HASHERS


# The password step alone; the risk and challenge stages have their own tests.
@override_settings(LOGIN_STAGES=[])
class LoginTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()

    def login(self, client: Client | None = None, **data):
        payload = {"email": "alice@example.com", "password": PASSWORD, **data}
        return (client or self.client).post("/login/", payload)

    def test_login_page_renders_labelled_fields(self):
        response = self.client.get("/login/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, '<label for="id_email">Email address</label>', html=True)
        self.assertContains(response, '<label for="id_password">Password</label>', html=True)
        self.assertContains(response, 'autocomplete="current-password"')
        self.assertContains(response, 'type="password"')

    def test_correct_password_signs_in_and_redirects_home(self):
        response = self.login()
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        home = self.client.get("/")
        self.assertEqual(home.wsgi_request.user, self.user)
        self.assertContains(home, "alice@example.com")

    def test_email_is_case_insensitive_and_trimmed(self):
        response = self.login(email="  ALICE@Example.COM ")
        self.assertEqual(response.status_code, 302)

    def test_wrong_password_is_refused_with_a_generic_message(self):
        response = self.login(password="wrong password here")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "don&#x27;t match an active account")
        self.assertFalse(response.wsgi_request.user.is_authenticated)

    def test_no_truncation_or_case_folding(self):
        for variant in (PASSWORD[:-1], PASSWORD + "x", PASSWORD.swapcase(), PASSWORD.upper()):
            with self.subTest(variant=variant):
                self.assertEqual(self.login(password=variant).status_code, 200)
        self.assertEqual(self.login().status_code, 302)

    def test_inactive_user_cannot_sign_in(self):
        self.user.is_active = False
        self.user.save()
        self.assertEqual(self.login().status_code, 200)

    def test_unknown_user_costs_the_same_hashing_work_as_a_wrong_password(self):
        # Timing parity by construction: one hash computation on both paths (Django #20760).
        from tests.accounts.hashers import CountingHasher

        hasher = "tests.accounts.hashers.CountingHasher"
        with self.settings(PASSWORD_HASHERS=[hasher]):
            User.objects.filter(pk=self.user.pk).update(password=make_password(PASSWORD, hasher="md5"))
            counts = []
            for email in ("zelda@example.com", "alice@example.com"):
                CountingHasher.calls = 0
                self.client_class().post("/login/", {"email": email, "password": "wrong password 1"})
                counts.append(CountingHasher.calls)
        self.assertEqual(counts, [1, 1])

    def test_session_key_rotates_at_login_and_old_key_is_dead(self):
        self.client.get("/login/")
        self.client.session.save()
        self.client.cookies["sessionid"] = "fixated-session-key-000000000000"
        before = self.client.cookies["sessionid"].value
        self.login()
        after = self.client.cookies["sessionid"].value
        self.assertNotEqual(before, after)
        attacker = Client()
        attacker.cookies["sessionid"] = before
        self.assertFalse(attacker.get("/").wsgi_request.user.is_authenticated)

    def test_logout_is_post_only_and_kills_the_old_cookie(self):
        self.login()
        old = self.client.cookies["sessionid"].value
        self.assertEqual(self.client.get("/logout/").status_code, 405)
        response = self.client.post("/logout/")
        self.assertRedirects(response, "/login/", fetch_redirect_response=False)
        replay = Client()
        replay.cookies["sessionid"] = old
        self.assertFalse(replay.get("/").wsgi_request.user.is_authenticated)

    def test_safe_next_is_followed(self):
        response = self.login(next="/password/change/")
        self.assertRedirects(response, "/password/change/", fetch_redirect_response=False)

    def test_open_redirects_are_rejected(self):
        for target in OPEN_REDIRECT_TARGETS:
            with self.subTest(target=target):
                client = Client()
                response = self.login(client, next=target)
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response["Location"], "/")
                page = Client().get("/login/", {"next": target})
                self.assertNotContains(page, "example.com")
                self.assertNotContains(page, "javascript:")
                # Already signed in: the login page sends the user on, but never off-site.
                page = client.get("/login/", {"next": target})
                self.assertEqual(page.status_code, 302)
                self.assertEqual(page["Location"], "/")

    def test_open_redirect_rejected_on_login_form_render(self):
        for target in OPEN_REDIRECT_TARGETS:
            with self.subTest(target=target):
                page = Client().get("/login/", {"next": target})
                self.assertNotContains(page, 'name="next"')

    def test_csrf_is_enforced(self):
        client = Client(enforce_csrf_checks=True)
        response = client.post("/login/", {"email": "alice@example.com", "password": PASSWORD})
        self.assertEqual(response.status_code, 403)
        self.assertContains(response, "This form has expired", status_code=403)
        self.assertFalse(client.get("/").wsgi_request.user.is_authenticated)

    def test_missing_and_wrong_type_fields_get_clear_errors(self):
        for data in ({}, {"email": "alice@example.com"}, {"password": PASSWORD}, {"email": ["a", "b"], "password": ""}):
            with self.subTest(data=data):
                response = self.client.post("/login/", data)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "This field is required.")

    def test_oversized_password_refused_before_hashing(self):
        with self.settings(PASSWORD_HASHERS=["tests.accounts.hashers.ExplodingHasher"]):
            response = self.login(password="x" * 1_000_000)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "This password is too long")

    def test_oversized_body_gets_a_clear_400(self):
        response = self.client.post("/login/", {"email": "a@example.com", "password": "x" * 3_000_000})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "too large or malformed", status_code=400)

    def test_control_characters_and_unicode_in_email_do_not_break_the_page(self):
        for email in ("a\x00b@example.com", "ünï\u202ecode@例え.jp", "\r\nSet-Cookie: x=1", ""):
            with self.subTest(email=email):
                response = self.client.post("/login/", {"email": email, "password": "whatever12"})
                self.assertEqual(response.status_code, 200)

    def test_signed_in_user_visiting_login_is_sent_on(self):
        self.login()
        self.assertRedirects(self.client.get("/login/"), "/", fetch_redirect_response=False)


@override_settings(PASSWORD_HASHERS=PRODUCTION_PASSWORD_HASHERS)
class HashingTests(CacheClearingTestCase):
    def test_new_passwords_are_hashed_with_argon2id(self):
        user = make_user()
        self.assertTrue(user.password.startswith("argon2$argon2id$"))

    def test_older_hash_is_upgraded_on_login(self):
        user = make_user()
        User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
        self.assertEqual(self.client.post("/login/", {"email": user.email, "password": PASSWORD}).status_code, 302)
        user.refresh_from_db()
        self.assertTrue(user.password.startswith("argon2$argon2id$"))
