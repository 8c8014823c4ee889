"""Discovery and JWKS against OpenID Connect Discovery 1.0 (section 3) and RFC 7517."""

from __future__ import annotations

from django.test import override_settings

from authsite.oidc import keys
from tests.base import BrowserClient, SimpleTestCase
from tests.oidc.base import DISCOVERY, ISSUER, JWKS

# OpenID Connect Discovery 1.0, section 3: REQUIRED metadata.
REQUIRED = {
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
}
# RECOMMENDED there (registration_endpoint is left out: clients are registered in the admin).
RECOMMENDED = {"userinfo_endpoint", "scopes_supported", "claims_supported"}


class DiscoveryTests(SimpleTestCase):
    def setUp(self) -> None:
        self.response = BrowserClient().get(DISCOVERY)
        self.data = self.response.json()

    def test_required_and_recommended_fields_are_present(self):
        self.assertEqual(self.response.status_code, 200)
        self.assertEqual(REQUIRED - set(self.data), set())
        self.assertEqual(RECOMMENDED - set(self.data), set())

    def test_the_issuer_is_the_site_url_and_every_endpoint_is_under_it(self):
        self.assertEqual(self.data["issuer"], ISSUER)
        for name in (
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "end_session_endpoint",
            "revocation_endpoint",
        ):
            with self.subTest(name=name):
                self.assertTrue(self.data[name].startswith(ISSUER + "/"), self.data[name])

    def test_it_promises_only_what_the_provider_does(self):
        self.assertEqual(self.data["response_types_supported"], ["code"])
        self.assertEqual(self.data["code_challenge_methods_supported"], ["S256"])
        self.assertEqual(self.data["grant_types_supported"], ["authorization_code", "refresh_token"])
        self.assertIn("openid", self.data["scopes_supported"])
        self.assertEqual(self.data["acr_values_supported"], ["password", "mfa", "phr"])
        for claim in ("sub", "auth_time", "acr", "amr", "email", "email_verified", "sid"):
            self.assertIn(claim, self.data["claims_supported"])
        self.assertIs(self.data["backchannel_logout_supported"], True)
        self.assertIs(self.data["backchannel_logout_session_supported"], True)
        self.assertEqual(self.data["id_token_signing_alg_values_supported"], ["RS256"])

    def test_the_endpoints_it_names_answer(self):
        client = BrowserClient()
        for name in ("jwks_uri",):
            path = self.data[name].removeprefix(ISSUER)
            self.assertEqual(client.get(path).status_code, 200)


class JwksTests(SimpleTestCase):
    def test_every_configured_key_is_published_and_only_the_first_signs(self):
        current, upcoming = keys.key_generate(keys.RS256), keys.key_generate(keys.ES256)
        with override_settings(OIDC_SIGNING_KEYS=[current, upcoming]):
            published = BrowserClient().get(JWKS).json()["keys"]
            self.assertEqual([k["alg"] for k in published], ["RS256", "ES256"])
            self.assertEqual(keys.signing_key().kid, published[0]["kid"])
            for key in published:
                self.assertEqual(key["use"], "sig")
                # Public parts only: no private RSA exponent or EC private scalar.
                self.assertNotIn("d", key)
                self.assertNotIn("p", key)
            discovery = BrowserClient().get(DISCOVERY).json()
            self.assertEqual(discovery["id_token_signing_alg_values_supported"], ["ES256", "RS256"])

    def test_a_bad_key_is_refused_with_the_reason(self):
        for value, reason in (
            ("not base64!", "not base64"),
            ("aGVsbG8=", "not an unencrypted PEM private key"),
        ):
            with self.subTest(value=value), self.assertRaisesMessage(ValueError, reason):
                keys.key_parse(value)
