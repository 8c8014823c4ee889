"""CSRF on every POST endpoint and recent re-authentication before every sensitive change."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, force_login_verified, make_user

SAMPLE_VALUES = {"token": "abc-123", "uidb64": "MQ"}


def site_paths() -> list[str]:
    """Every URL of the site (admin and static files aside), with sample values for parameters."""
    paths = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                paths.append(route)

    walk(get_resolver().url_patterns)
    concrete = []
    for route in paths:
        if route.startswith(("admin/", "static/", "^")):
            continue
        path = route
        for name, value in SAMPLE_VALUES.items():
            path = path.replace(f"<str:{name}>", value).replace(f"<{name}>", value)
        concrete.append("/" + path)
    return concrete


# OAuth 2.0 back-channel endpoints (RFC 6749, RFC 7009, OpenID Connect Core 5.3): called by
# applications with client credentials or a bearer token, never authenticated by the browser's
# cookies, so CSRF does not apply; without credentials they refuse (400 or 401).
CLIENT_AUTHENTICATED = {"/o/token/", "/o/revoke_token/", "/o/userinfo/"}


class CsrfEverywhereTests(CacheClearingTestCase):
    """Client(enforce_csrf_checks=True) without a token -> 403 on every URL, signed in or not."""

    def test_every_post_without_a_token_is_refused(self):
        paths = site_paths()
        self.assertGreater(len(paths), 30)
        self.assertIn("/account/security/remove/", paths)
        user = make_user()
        anonymous = Client(enforce_csrf_checks=True)
        signed_in = Client(enforce_csrf_checks=True)
        force_login_verified(signed_in, user)
        for path in [*paths, "/admin/login/", "/admin/auth/user/"]:
            for who, client in (("anonymous", anonymous), ("signed in", signed_in)):
                with self.subTest(path=path, who=who):
                    status = client.post(path, {"x": "1"}).status_code
                    self.assertIn(status, (400, 401) if path in CLIENT_AUTHENTICATED else (403,))


SENSITIVE = [
    "/account/security/totp/",
    "/account/security/totp/confirm/",
    "/account/security/email/",
    "/account/security/sms/",
    "/account/security/code/confirm/",
    "/account/security/recovery/",
    "/account/security/rename/",
    "/account/security/remove/",
    "/account/security/preferred/",
    "/account/security/webauthn/begin/",
    "/account/security/webauthn/complete/",
]


class RecentReauthenticationTests(CacheClearingTestCase):
    """ASVS 7.5.1: factor, phone and recovery-code changes need a recent re-authentication."""

    def test_every_sensitive_change_asks_to_sign_in_again_once_the_window_has_passed(self):
        user = make_user()
        self.client.post("/login/", {"email": user.email, "password": PASSWORD})
        later = timezone.now() + timedelta(minutes=11)
        with mock.patch("authsite.core.clock.now", return_value=later):
            for path in SENSITIVE:
                with self.subTest(path=path):
                    response = self.client.post(path, {"device": "x", "name": "x", "phone_number": "+447911123456"})
                    self.assertEqual(response.status_code, 302, response.content[:200])
                    self.assertTrue(response["Location"].startswith("/account/reauthenticate/"), response["Location"])

    def test_password_change_needs_the_current_password(self):
        user = make_user()
        self.client.post("/login/", {"email": user.email, "password": PASSWORD})
        new = "a brand new passphrase"
        response = self.client.post(
            "/password/change/", {"old_password": "not it at all", "new_password1": new, "new_password2": new}
        )
        self.assertEqual(response.status_code, 200)
        user.refresh_from_db()
        self.assertTrue(user.check_password(PASSWORD))


class NoEmailChangeTests(CacheClearingTestCase):
    """ASVS 7.5.1 for email: there is no self-service address change to protect (fixed at signup)."""

    def test_no_url_changes_the_account_address(self):
        email_paths = [path for path in site_paths() if "email" in path]
        # The one match adds an email *factor*; it does not touch the account's address.
        self.assertEqual(email_paths, ["/account/security/email/"])
        user = make_user()
        self.client.post("/login/", {"email": user.email, "password": PASSWORD})
        self.client.post("/account/security/email/", {"email": "mallory@example.com"})
        user.refresh_from_db()
        self.assertEqual(user.email, "alice@example.com")
