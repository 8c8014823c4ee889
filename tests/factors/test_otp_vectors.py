"""RFC 4226/6238 test vectors and an independent implementation (oathtool) against factors.otp."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

from factors import otp
from tests.base import SimpleTestCase

SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"
SEED_SHA512 = b"1234567890" * 6 + b"1234"

RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]

RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]


class RfcVectorTests(SimpleTestCase):
    def test_rfc4226_hotp_vectors(self):
        for counter, expected in enumerate(RFC4226):
            with self.subTest(counter=counter):
                self.assertEqual(otp.hotp(SEED_SHA1, counter, digits=6), expected)

    def test_rfc6238_totp_vectors_all_digests(self):
        for seconds, sha1, sha256, sha512 in RFC6238:
            when = datetime.fromtimestamp(seconds, tz=UTC)
            for seed, digest, expected in (
                (SEED_SHA1, "sha1", sha1),
                (SEED_SHA256, "sha256", sha256),
                (SEED_SHA512, "sha512", sha512),
            ):
                with self.subTest(seconds=seconds, digest=digest):
                    self.assertEqual(otp.totp(seed, when, digits=8, digest=digest), expected)

    def test_time_step_uses_t0_zero_and_30_seconds(self):
        self.assertEqual(otp.time_step(datetime.fromtimestamp(59, tz=UTC)), 1)
        self.assertEqual(otp.time_step(datetime.fromtimestamp(60, tz=UTC)), 2)


class OathtoolTests(SimpleTestCase):
    """Compare with oathtool, an implementation that shares no code with pyotp."""

    def setUp(self):
        self.oathtool = shutil.which("oathtool")
        if self.oathtool is None:
            self.skipTest("oathtool is not installed")

    def oathtool_totp(self, key: bytes, when: datetime) -> str:
        secret = base64.b32encode(key).decode()
        out = subprocess.run(
            [self.oathtool, "--totp", "-b", secret, "--now", when.strftime("%Y-%m-%d %H:%M:%S UTC")],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return out.stdout.strip()

    def test_totp_matches_oathtool_at_several_times(self):
        key = bytes(range(20))
        start = datetime(2025, 1, 1, tzinfo=UTC)
        times = [start + timedelta(seconds=s) for s in (0, 29, 30, 59, 3600, 86399, 10**8)]
        times.append(datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC))  # past the 32-bit time_t limit
        for when in times:
            with self.subTest(when=when):
                self.assertEqual(otp.totp(key, when), self.oathtool_totp(key, when))
