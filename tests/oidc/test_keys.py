"""Signing keys: ES256 or RS256 as configured, rotation, manage.py oidc_keys, the system check."""

from __future__ import annotations

import io

import jwt as pyjwt
from django.core.management import call_command
from django.test import override_settings

from authsite.oidc import keys
from tests.base import SimpleTestCase
from tests.oidc.base import CHALLENGE_ONLY, OidcTestCase
from tests.test_settings import production_env, run_manage


class KeysCommandTests(SimpleTestCase):
    def test_generate_prints_a_key_that_loads(self):
        for alg in ("RS256", "ES256"):
            with self.subTest(alg=alg):
                out, err = io.StringIO(), io.StringIO()
                call_command("oidc_keys", "generate", "--alg", alg, stdout=out, stderr=err)
                key = keys.key_parse(out.getvalue().strip())
                self.assertEqual(key.alg, alg)
                self.assertIn("at the END of OIDC_SIGNING_KEYS", err.getvalue())

    def test_show_lists_each_key_with_its_role(self):
        first, second = keys.key_generate(keys.ES256), keys.key_generate(keys.RS256)
        with override_settings(OIDC_SIGNING_KEYS=[first, second]):
            out = io.StringIO()
            call_command("oidc_keys", "show", stdout=out)
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn(f"kid={keys.key_parse(first).kid} alg=ES256: signs ID tokens", lines[0])
        self.assertIn("alg=RS256: published only", lines[1])


class SystemCheckTests(SimpleTestCase):
    def test_production_without_signing_keys_refuses_with_the_command_to_run(self):
        env = production_env(OIDC_SIGNING_KEYS="")
        result = run_manage("check", env=env)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("oidc.E001", result.stderr)
        self.assertIn("manage.py oidc_keys generate", result.stderr)

    def test_a_broken_key_is_named(self):
        result = run_manage("check", env=production_env(OIDC_SIGNING_KEYS="bm90IGEga2V5"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("OIDC_SIGNING_KEYS: key 1 is not an unencrypted PEM private key", result.stderr)


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class RotationTests(OidcTestCase):
    def test_es256_signs_when_an_ec_key_is_first_and_the_next_key_is_published_before_it_signs(self):
        current, upcoming = keys.key_generate(keys.ES256), keys.key_generate(keys.RS256)
        with override_settings(OIDC_SIGNING_KEYS=[current, upcoming]):
            token = self.tokens(self.sign_in_for_code())["id_token"]
            self.assertEqual(pyjwt.get_unverified_header(token)["alg"], "ES256")
            self.assertEqual(pyjwt.get_unverified_header(token)["kid"], keys.key_parse(current).kid)
            self.assertEqual(self.id_claims(token)["acr"], "mfa")
        # Rotated: the upcoming key signs; the old one stays published so earlier tokens still verify.
        with override_settings(OIDC_SIGNING_KEYS=[upcoming, current]):
            self.assertEqual(self.id_claims(token)["acr"], "mfa")
            rotated = self.tokens(self.sign_in_for_code())["id_token"]
            self.assertEqual(pyjwt.get_unverified_header(rotated)["alg"], "RS256")

    def test_a_token_signed_by_another_key_does_not_verify_against_the_jwks(self):
        token = self.tokens(self.sign_in_for_code())["id_token"]
        with override_settings(OIDC_SIGNING_KEYS=[keys.key_generate(keys.RS256)]):
            forged = keys.jwt_sign(pyjwt.decode(token, options={"verify_signature": False}))
        with self.assertRaises(StopIteration):  # its kid is not published
            self.id_claims(forged)


class DevelopmentKeyTests(SimpleTestCase):
    def test_in_debug_without_keys_one_key_is_made_once_and_shared(self):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "dev-key"
            with override_settings(DEBUG=True, OIDC_SIGNING_KEYS=[], OIDC_DEV_KEY_FILE=str(path)):
                first = keys.signing_key().kid
                keys.signing_keys.cache_clear()  # another process reads the same file
                self.assertEqual(keys.signing_key().kid, first)
                self.assertEqual(sorted(p.name for p in Path(folder).iterdir()), ["dev-key"])
            with override_settings(DEBUG=False, OIDC_SIGNING_KEYS=[]), self.assertRaises(Exception) as refused:
                keys.signing_keys()
            self.assertIn("oidc_keys generate", str(refused.exception))
