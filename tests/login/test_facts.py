"""The facts stages hand on: typed fields, stored as JSON values, read back strictly."""

from __future__ import annotations

import dataclasses
import json

from authsite.login.facts import FactorRequirement, LoginFacts, Requirement
from authsite.login.state import PendingLogin
from tests.base import SimpleTestCase


class LoginFactsTests(SimpleTestCase):
    def test_the_pending_login_has_typed_facts_and_no_free_form_flags(self):
        fields = {f.name: f.type for f in dataclasses.fields(PendingLogin)}
        self.assertNotIn("flags", fields)
        self.assertIn("facts", fields)

    def test_facts_survive_the_session_as_json(self):
        facts = LoginFacts(
            throttle_unavailable=True,
            has_factor=True,
            requirement=FactorRequirement(
                required=True, minimum=Requirement.STRONG, exclude=("sms", "recovery"), reasons=("New device",)
            ),
            event_id=7,
            user_notified=True,
            can_remember_device=True,
            factor_kind="totp",
            remember_device=True,
        )
        stored = json.loads(json.dumps(facts.to_json()))
        self.assertEqual(LoginFacts.from_json(stored), facts)
        self.assertEqual(stored["requirement"]["minimum"], "strong")

    def test_anything_else_is_refused(self):
        good = LoginFacts().to_json()
        for bad in (
            None,
            {"risk_event_id": 1},
            {**good, "extra": 1},
            {**good, "has_factor": "yes"},
            {**good, "event_id": "1"},
            {**good, "requirement": {"required": True, "minimum": "best", "exclude": [], "reasons": []}},
        ):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                LoginFacts.from_json(bad)
