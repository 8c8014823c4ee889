"""What a session proved (SessionProof) and what an application asks (AppRequest), as facts."""

from __future__ import annotations

import json

from authsite.login.facts import (
    AppRequest,
    AuthLevel,
    FactorProof,
    FactorRequirement,
    LoginFacts,
    Requirement,
    requirement_for_app,
)
from authsite.login.proof import SessionProof, proof_from_facts
from tests.base import SimpleTestCase

APP = "Example App"


class ProofFromFactsTests(SimpleTestCase):
    def proof(self, facts: LoginFacts, previous: SessionProof | None = None) -> SessionProof:
        return proof_from_facts(facts, user_id=1, now=1000.0, previous=previous)

    def test_a_password_alone(self):
        proof = self.proof(LoginFacts())
        self.assertEqual((proof.methods, proof.level), (("pwd",), AuthLevel.PASSWORD))

    def test_password_and_an_app_code(self):
        proof = self.proof(LoginFacts(factor_proof=FactorProof(("otp",), Requirement.STRONG)))
        self.assertEqual((proof.methods, proof.level), (("pwd", "otp", "mfa"), AuthLevel.MFA))

    def test_a_passkey_with_user_verification_is_phishing_resistant_without_a_password(self):
        facts = LoginFacts(
            passkey_verified=True, factor_proof=FactorProof(("hwk", "user"), Requirement.PHISHING_RESISTANT)
        )
        proof = self.proof(facts)
        self.assertEqual((proof.methods, proof.level), (("hwk", "user", "mfa"), AuthLevel.PHISHING_RESISTANT))

    def test_a_step_up_adds_to_what_the_session_proved_and_never_lowers_it(self):
        before = SessionProof(user_id=1, auth_time=10.0, methods=("pwd", "otp", "mfa"), level=AuthLevel.MFA)
        up = self.proof(
            LoginFacts(step_up=True, factor_proof=FactorProof(("hwk",), Requirement.PHISHING_RESISTANT)), before
        )
        self.assertEqual(up.methods, ("pwd", "otp", "hwk", "mfa"))
        self.assertEqual(up.level, AuthLevel.PHISHING_RESISTANT)
        weaker = self.proof(LoginFacts(step_up=True, factor_proof=FactorProof(("sms",), Requirement.ANY)), before)
        self.assertEqual(weaker.level, AuthLevel.MFA)

    def test_a_step_up_never_inherits_another_users_proof(self):
        other = SessionProof(user_id=2, auth_time=10.0, methods=("pwd", "otp", "mfa"), level=AuthLevel.MFA)
        self.assertEqual(self.proof(LoginFacts(step_up=True), other).level, AuthLevel.PASSWORD)

    def test_the_proof_survives_the_session_and_refuses_anything_else(self):
        proof = self.proof(LoginFacts())
        self.assertEqual(SessionProof.from_json(json.loads(json.dumps(proof.to_json()))), proof)
        for bad in (None, {}, {**proof.to_json(), "level": "aal9"}, {**proof.to_json(), "user_id": "1"}):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                SessionProof.from_json(bad)


class AppRequirementTests(SimpleTestCase):
    def test_the_app_is_a_floor_the_stages_can_raise_but_never_lower(self):
        allow = FactorRequirement(required=False)
        mfa = requirement_for_app(allow, AppRequest(app_id="a", app_name=APP, level=AuthLevel.MFA))
        self.assertEqual((mfa.required, mfa.minimum), (True, Requirement.ANY))
        self.assertIn("Example App asks for a second step", mfa.reasons)
        strong = FactorRequirement(required=True, minimum=Requirement.STRONG, reasons=("New device",))
        self.assertEqual(requirement_for_app(strong, AppRequest(app_id="a", app_name=APP)), strong)
        phr = requirement_for_app(strong, AppRequest(app_id="a", app_name=APP, level=AuthLevel.PHISHING_RESISTANT))
        self.assertEqual(phr.minimum, Requirement.PHISHING_RESISTANT)
        self.assertEqual(phr.reasons, ("Example App asks for a passkey or security key", "New device"))

    def test_the_facts_carry_the_app_and_the_factor_proof_through_the_session(self):
        facts = LoginFacts(
            app=AppRequest(app_id="a", app_name=APP, level=AuthLevel.MFA, fresh_after=12.5),
            step_up=True,
            factor_proof=FactorProof(("otp",), Requirement.STRONG),
        )
        self.assertEqual(LoginFacts.from_json(json.loads(json.dumps(facts.to_json()))), facts)
        with self.assertRaises(ValueError):
            LoginFacts.from_json({**facts.to_json(), "app": {"app_id": "a"}})
