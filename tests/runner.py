"""Test runner: Django's, with quiet logs and a fast password hasher (the browser-like test client
is in tests/base.py).

Argon2id costs about 0.1 s per hash by design; hundreds of sign-ins in the suite would spend
minutes in it. Tests that are about hashing (Argon2id first, upgrades of older hashes) restore the
production list with ``override_settings(PASSWORD_HASHERS=...)``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.test import override_settings
from django.test.runner import DiscoverRunner

PRODUCTION_PASSWORD_HASHERS = list(settings.PASSWORD_HASHERS)


class TestRunner(DiscoverRunner):
    def setup_test_environment(self, **kwargs) -> None:
        super().setup_test_environment(**kwargs)
        # Emailed links are built on SITE_URL; the test client's host is "testserver". Changed
        # through override_settings, whose setting_changed signal clears Django's hasher caches.
        from authsite.oidc.keys import key_generate

        self._test_settings = override_settings(
            SITE_URL="http://testserver",
            # One signing key for the run (production refuses to start without OIDC_SIGNING_KEYS).
            OIDC_SIGNING_KEYS=[key_generate()],
            OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": "http://testserver"},
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_PASSWORD_HASHERS],
        )
        self._test_settings.enable()
        # The JSON event stream is asserted with assertLogs; printing it would bury test output.
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.CRITICAL)

    def teardown_test_environment(self, **kwargs) -> None:
        self._test_settings.disable()
        super().teardown_test_environment(**kwargs)

    def suite_result(self, suite, result, **kwargs) -> int:
        failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
        skipped = len(result.skipped)
        passed = result.testsRun - failed - skipped
        # One plain closing line that CI systems can read, whatever they know of Django's runner.
        print(f"tests: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
        return super().suite_result(suite, result, **kwargs)
