"""Registering clients in the admin: the secret shown once and stored hashed, bad input refused."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password

from authsite.oidc.models import Client
from tests.base import BrowserClient
from tests.helpers import CacheClearingTestCase, force_login_verified, make_user

ADD = "/admin/oidc/client/add/"


class ClientAdminTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.staff = BrowserClient()
        force_login_verified(self.staff, make_user("admin@example.com", is_staff=True, is_superuser=True))

    def form(self, **fields: str) -> dict:
        return {
            "name": "Wiki",
            "client_type": "confidential",
            "redirect_uris": "https://wiki.example.com/oidc/callback",
            "post_logout_redirect_uris": "",
            "allowed_scopes": "openid email",
            "policy": "mfa",
            "backchannel_logout_uri": "",
            **fields,
        }

    def test_a_confidential_client_gets_a_secret_shown_once_and_stored_hashed(self):
        response = self.staff.post(ADD, self.form(), follow=True)
        self.assertEqual(response.status_code, 200)
        client = Client.objects.get(name="Wiki")
        shown = [str(m) for m in response.context["messages"] if "client secret" in str(m)]
        self.assertEqual(len(shown), 1)
        secret = shown[0].split(" is ", 1)[1].split(" ", 1)[0]
        self.assertNotEqual(client.client_secret, secret)
        self.assertTrue(check_password(secret, client.client_secret))
        self.assertEqual((client.authorization_grant_type, client.policy), ("authorization-code", "mfa"))

    def test_a_public_client_has_no_secret(self):
        self.staff.post(ADD, self.form(client_type="public"))
        self.assertEqual(Client.objects.get(name="Wiki").client_secret, "")

    def test_bad_input_is_refused_with_the_reason_and_nothing_is_saved(self):
        for fields, reason in (
            ({"allowed_scopes": "email"}, "The openid scope is needed"),
            ({"allowed_scopes": "openid admin"}, "Unknown scopes: admin"),
            ({"redirect_uris": ""}, "redirect_uris cannot be empty"),
            ({"redirect_uris": "javascript:alert(1)"}, "redirect"),
        ):
            with self.subTest(fields=fields):
                response = self.staff.post(ADD, self.form(**fields))
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, reason)
                self.assertFalse(Client.objects.exists())
