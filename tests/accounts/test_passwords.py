"""Password change and reset: rules, other sessions ended, no sign-in after reset."""

from __future__ import annotations

import re
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.core import mail

from authsite.accounts.models import User
from tests.base import BrowserClient as Client
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


def reset_set_password_url(client: Client, user) -> str:
    """Follow a fresh reset link of ``user`` to the page that sets the new password."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    response = client.get(f"/password/reset/{uid}/{default_token_generator.make_token(user)}/", follow=True)
    return response.redirect_chain[-1][0]


class PasswordPagesAreNotStoredTests(CacheClearingTestCase):
    """Every page that shows or takes a password or a secret says Cache-Control: no-store."""

    def test_password_pages_forbid_storing(self):
        from authsite.accounts.tokens import account_activation_token

        user = make_user()
        pending = make_user("pending@example.com", is_active=False, email_verified_at=None)
        signed_in = Client()
        signed_in.force_login(user)
        pages = {
            "/login/": Client(),
            "/signup/": Client(),
            f"/signup/activate/{account_activation_token(pending)}/": Client(),
            "/password/change/": signed_in,
            "/account/reauthenticate/": signed_in,
        }
        reset_client = Client()
        pages[reset_set_password_url(reset_client, user)] = reset_client
        for path, client in pages.items():
            for method in ("get", "post"):
                with self.subTest(path=path, method=method):
                    response = getattr(client, method)(path, {"password": "x"} if method == "post" else None)
                    self.assertIn("no-store", response.get("Cache-Control", ""))


class PasswordNormalisationTests(CacheClearingTestCase):
    """Passwords are hashed and checked in NFKC (NIST SP 800-63B), everywhere they are set or checked."""

    COMPOSED = "caf\u00e9 au lait tous les jours"  # é as one code point
    DECOMPOSED = "cafe\u0301 au lait tous les jours"  # e + combining acute accent

    def sign_in(self, password: str, email: str = "alice@example.com"):
        return Client().post("/login/", {"email": email, "password": password})

    def test_a_password_set_in_one_form_signs_in_with_the_other(self):
        make_user(password=self.DECOMPOSED)
        self.assertEqual(self.sign_in(self.COMPOSED).status_code, 302)
        self.assertEqual(self.sign_in(self.DECOMPOSED).status_code, 302)

    def test_signup_activation_change_reset_and_reauthentication_normalise(self):
        self.client.post("/signup/", {"email": "new@example.com", "password": self.DECOMPOSED})
        link = re.search(r"http://testserver(/signup/activate/\S+)", mail.outbox[-1].body).group(1)
        self.assertRedirects(self.client.post(link, {"password": self.COMPOSED}), "/login/")
        client = Client()
        self.assertEqual(
            client.post("/login/", {"email": "new@example.com", "password": self.COMPOSED}).status_code, 302
        )
        user = User.objects.get(email="new@example.com")
        client.force_login(user)
        self.assertEqual(client.post("/account/reauthenticate/", {"password": self.DECOMPOSED}).status_code, 302)
        changed = "\uff11\uff12\uff13 full-width digits here"  # NFKC: "123 full-width digits here"
        response = client.post(
            "/password/change/",
            {"old_password": self.DECOMPOSED, "new_password1": changed, "new_password2": changed},
        )
        self.assertRedirects(response, "/password/change/done/")
        self.assertEqual(self.sign_in("123 full-width digits here", "new@example.com").status_code, 302)
        user.refresh_from_db()
        set_url = reset_set_password_url(self.client, user)
        self.client.post(set_url, {"new_password1": self.DECOMPOSED, "new_password2": self.DECOMPOSED})
        self.assertEqual(self.sign_in(self.COMPOSED, "new@example.com").status_code, 302)

    def test_a_hash_made_before_normalisation_works_once_as_typed_then_is_rehashed(self):
        from django.contrib.auth.hashers import make_password

        user = make_user()
        User.objects.filter(pk=user.pk).update(password=make_password(self.DECOMPOSED))  # an old, raw hash
        self.assertEqual(self.sign_in(self.COMPOSED).status_code, 200, "the other form never matched it")
        self.assertEqual(self.sign_in(self.DECOMPOSED).status_code, 302)
        user.refresh_from_db()
        self.assertTrue(user.check_password(self.COMPOSED))
        self.assertEqual(self.sign_in(self.COMPOSED).status_code, 302)

    def test_unknown_address_costs_as_many_hashes_as_a_wrong_password(self):
        from django.contrib.auth.hashers import MD5PasswordHasher

        make_user()
        counts = []
        for email in ("alice@example.com", "zelda@example.com"):
            with mock.patch.object(
                MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode
            ) as encode:
                self.assertEqual(self.sign_in("\ufb01sh and chips, wrong", email).status_code, 200)
            counts.append(encode.call_count)
        self.assertEqual(counts[0], counts[1])
        self.assertEqual(counts[0], 2)


class SensitivePostParametersTests(CacheClearingTestCase):
    """A crash report never shows a posted password: every view that takes one marks it."""

    def test_password_views_hide_the_password_from_error_reports(self):
        from django.views.debug import SafeExceptionReporterFilter

        from authsite.accounts.tokens import account_activation_token

        user = make_user()
        pending = make_user("pending@example.com", is_active=False, email_verified_at=None)
        seen = {}

        def crash(request, *args, **kwargs):
            seen["request"] = request
            raise RuntimeError("boom")

        cases = [
            ("/login/", "authsite.accounts.services.login_check_password", None),
            ("/signup/", "authsite.accounts.services.account_signup", None),
            (
                f"/signup/activate/{account_activation_token(pending)}/",
                "authsite.accounts.services.account_activate",
                None,
            ),
            ("/account/reauthenticate/", "authsite.accounts.services.account_reauthenticate", user),
        ]
        for path, target, signed_in in cases:
            with self.subTest(path=path), mock.patch(target, side_effect=crash):
                client = Client(raise_request_exception=False)
                if signed_in is not None:
                    client.force_login(signed_in)
                client.post(path, {"email": "a@example.com", "password": PASSWORD})
                params = SafeExceptionReporterFilter().get_post_parameters(seen.pop("request"))
                self.assertEqual(params["password"], SafeExceptionReporterFilter.cleansed_substitute)
                self.assertEqual(params["email"], "a@example.com")
