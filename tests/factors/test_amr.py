"""What each kind of factor proves, as the factors app publishes it to the login framework."""

from __future__ import annotations

from authsite.login.facts import Requirement
from factors.registry import FACTOR_TYPES, factor_proof
from tests.base import SimpleTestCase


class FactorProofTests(SimpleTestCase):
    def test_each_kind_maps_to_rfc_8176_values_and_the_strongest_requirement_it_meets(self):
        expected = {
            "webauthn": (("hwk",), Requirement.PHISHING_RESISTANT),
            "totp": (("otp",), Requirement.STRONG),
            "sms": (("sms",), Requirement.ANY),
            "email": (("otp",), Requirement.ANY),
            "recovery": (("otp",), Requirement.ANY),
        }
        self.assertEqual(set(expected), set(FACTOR_TYPES))
        for kind, (methods, meets) in expected.items():
            with self.subTest(kind=kind):
                proof = factor_proof(kind)
                self.assertEqual((proof.methods, proof.meets), (methods, meets))

    def test_user_verification_adds_user_to_a_webauthn_assertion_only(self):
        self.assertEqual(factor_proof("webauthn", user_verified=True).methods, ("hwk", "user"))
        self.assertEqual(factor_proof("totp", user_verified=True).methods, ("otp",))
