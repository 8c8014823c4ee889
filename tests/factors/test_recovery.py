"""Recovery codes: >= 64 bits, hashed, single use, regeneration voids the old set."""

from __future__ import annotations

from unittest import mock

from factors.models import RecoveryCode, RecoveryCodeDevice, recovery_code_hasher
from factors.registry import Requirement, satisfies
from factors.services import (
    VerifyStatus,
    factor_recovery_codes_generate,
    factor_verify,
    recovery_codes_remaining,
    user_has_factor,
)
from tests.base import TestCase
from tests.factors.base import FactorsTestMixin
from tests.helpers import make_user, unique_email


class RecoveryCodeTests(FactorsTestMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())
        self.codes = factor_recovery_codes_generate(user=self.user)
        self.device = RecoveryCodeDevice.objects.get(user=self.user)

    def verify(self, code: str):
        return factor_verify(device_id=self.device.persistent_id, user=self.user, response=code)

    def test_ten_distinct_codes_of_80_bits_in_groups_of_four(self):
        self.assertEqual(len(self.codes), 10)
        self.assertEqual(len(set(self.codes)), 10)
        for code in self.codes:
            self.assertRegex(code, r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$")
            # 16 base32 characters carry 16 * 5 = 80 bits (>= 64, ASVS 6.5.2).
            self.assertGreaterEqual(len(code.replace("-", "")) * 5, 64)

    def test_stored_hashed_not_in_clear(self):
        stored = list(RecoveryCode.objects.filter(device=self.device).values_list("code_hash", flat=True))
        self.assertEqual(len(stored), 10)
        for code in self.codes:
            for value in stored:
                self.assertNotIn(code.replace("-", ""), value)
                self.assertNotIn(code, value)
        self.assertTrue(all(v.startswith("pbkdf2_sha256$") for v in stored))

    def test_each_code_works_exactly_once(self):
        result = self.verify(self.codes[0])
        self.assertEqual(result.status, VerifyStatus.OK)
        self.assertEqual(result.factor_kind, "recovery")
        self.assertEqual(result.recovery_codes_left, 9)
        self.clock.advance(1)
        self.assertEqual(self.verify(self.codes[0]).status, VerifyStatus.INVALID)
        self.assertEqual(recovery_codes_remaining(user=self.user), 9)

    def test_input_is_normalised(self):
        code = self.codes[1]
        sloppy = " " + code.lower().replace("-", " ") + " "
        self.assertEqual(self.verify(sloppy).status, VerifyStatus.OK)

    def test_regenerate_voids_the_old_set(self):
        new_codes = factor_recovery_codes_generate(user=self.user)
        self.assertFalse(set(new_codes) & set(self.codes))
        self.assertEqual(RecoveryCodeDevice.objects.filter(user=self.user).count(), 1)
        self.assertEqual(self.verify(self.codes[2]).status, VerifyStatus.INVALID)
        self.clock.advance(1)
        self.assertEqual(self.verify(new_codes[2]).status, VerifyStatus.OK)

    def test_wrong_code_is_throttled_like_other_factors(self):
        self.assertEqual(self.verify("AAAA-AAAA-AAAA-AAAA").status, VerifyStatus.INVALID)
        throttled = self.verify(self.codes[0])
        self.assertEqual(throttled.status, VerifyStatus.THROTTLED)
        self.assertEqual(throttled.seconds_left, 1)
        self.assertEqual(recovery_codes_remaining(user=self.user), 10)

    def test_recovery_codes_are_a_recovery_path_not_a_strong_factor(self):
        self.assertTrue(satisfies(self.device, Requirement.ANY))
        self.assertFalse(satisfies(self.device, Requirement.STRONG))
        self.assertFalse(satisfies(self.device, Requirement.PHISHING_RESISTANT))
        # Having only recovery codes is not having a second factor.
        self.assertFalse(user_has_factor(self.user))

    def test_codes_come_from_the_randomness_seam(self):
        with mock.patch("factors.seams.token_bytes", return_value=bytes(10)):
            codes = factor_recovery_codes_generate(user=make_user(unique_email()))
        self.assertEqual(codes[0], "AAAA-AAAA-AAAA-AAAA")

    def test_two_interleaved_checks_accept_a_code_once(self):
        first = RecoveryCodeDevice.objects.get(pk=self.device.pk)
        second = RecoveryCodeDevice.objects.get(pk=self.device.pk)
        real_verify = recovery_code_hasher.verify
        interleaved: list[bool] = []

        def verify(candidate, encoded):
            # The second check has read the unused codes; now the first one uses the code.
            if not interleaved:
                interleaved.append(True)
                self.assertEqual(first.check_token(self.codes[3]).value, "ok")
            return real_verify(candidate, encoded)

        with mock.patch.object(recovery_code_hasher, "verify", side_effect=verify):
            self.assertEqual(second.check_token(self.codes[3]).value, "invalid")
        self.assertEqual(interleaved, [True])
        self.assertEqual(recovery_codes_remaining(user=self.user), 9)
