"""Test runner: Django's, with quiet logs, a fast password hasher, and a test client that says
which browser it is.

Argon2id costs about 0.1 s per hash by design; hundreds of sign-ins in the suite would spend
minutes in it. Tests that are about hashing (Argon2id first, upgrades of older hashes) restore the
production list with ``override_settings(PASSWORD_HASHERS=...)``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm
from django.test.client import RequestFactory
from django.test.runner import DiscoverRunner

PRODUCTION_PASSWORD_HASHERS = list(settings.PASSWORD_HASHERS)
# What the test client sends unless a test says otherwise. Django's client sends no User-Agent,
# which the risk engine rightly reads as a script; a test about scripts or an empty agent passes
# HTTP_USER_AGENT itself.
TEST_CLIENT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_base_environ = RequestFactory._base_environ


def _browser_environ(self, **request):
    environ = _base_environ(self, **request)
    environ.setdefault("HTTP_USER_AGENT", TEST_CLIENT_USER_AGENT)
    return environ


class TestRunner(DiscoverRunner):
    def setup_test_environment(self, **kwargs) -> None:
        super().setup_test_environment(**kwargs)
        RequestFactory._base_environ = _browser_environ
        # Emailed links are built on SITE_URL; the test client's host is "testserver".
        settings.SITE_URL = "http://testserver"
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_PASSWORD_HASHERS]
        get_hashers.cache_clear()
        get_hashers_by_algorithm.cache_clear()
        # The JSON event stream is asserted with assertLogs; printing it would bury test output.
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.CRITICAL)

    def suite_result(self, suite, result, **kwargs) -> int:
        failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
        skipped = len(result.skipped)
        passed = result.testsRun - failed - skipped
        # One plain closing line that CI systems can read, whatever they know of Django's runner.
        print(f"tests: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
        return super().suite_result(suite, result, **kwargs)
