"""Twelve-factor settings, production checks, security headers, and the gunicorn production path."""

from __future__ import annotations

import os
import re
import runpy
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from authsite.oidc.keys import key_generate
from tests.base import SimpleTestCase, TestCase

ROOT = Path(settings.BASE_DIR)


_GEOIP_DIR = tempfile.mkdtemp(prefix="geoip-")


def demo_geoip() -> tuple[str, str]:
    """Build the demo GeoIP databases once per run (production settings warn without them)."""
    from risk.geo import build_demo_databases

    city, asn = Path(_GEOIP_DIR) / "demo-city.mmdb", Path(_GEOIP_DIR) / "demo-asn.mmdb"
    if not city.exists():
        city, asn = build_demo_databases(_GEOIP_DIR)
    return str(city), str(asn)


# One OpenID Connect signing key for the production-mode processes these tests start.
_SIGNING_KEY = key_generate()


def production_env(**extra: str) -> dict[str, str]:
    city_db, asn_db = demo_geoip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="authsite.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="auth.example.com,127.0.0.1",
        SITE_URL="https://auth.example.com",
        FACTORS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        WEBAUTHN_RP_ID="auth.example.com",
        WEBAUTHN_ORIGINS="https://auth.example.com",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32,
        GEOIP_CITY_DB=city_db,
        GEOIP_ASN_DB=asn_db,
        OIDC_SIGNING_KEYS=_SIGNING_KEY,
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def run_manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


class ProductionSettingsTests(SimpleTestCase):
    def test_production_without_secret_key_refuses_to_start_and_says_what_to_set(self):
        env = production_env()
        del env["DJANGO_SECRET_KEY"]
        result = run_manage("check", env=env)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("DJANGO_SECRET_KEY is not set", result.stderr)

    def test_check_deploy_passes_with_production_settings(self):
        result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("no issues", result.stdout)

    def test_bad_environment_values_get_clear_messages(self):
        result = run_manage("check", env=production_env(TRUSTED_PROXY_COUNT="two"))
        self.assertIn("TRUSTED_PROXY_COUNT must be a whole number", result.stderr)
        result = run_manage("check", env=production_env(MAIL_BACKEND="pigeon"))
        self.assertIn("MAIL_BACKEND must be one of", result.stderr)


def development_env(**extra: str) -> dict[str, str]:
    """The environment of a developer's shell: no deployment variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def load_settings(**env: str) -> dict:
    """Evaluate authsite/settings.py under a development environment plus ``env``."""
    with mock.patch.dict(os.environ, development_env(**env), clear=True):
        return runpy.run_path(str(ROOT / "authsite" / "settings.py"))


class EnvironmentValidationTests(SimpleTestCase):
    """A mistyped variable stops the process at start, naming the variable, instead of failing later."""

    def assertRefused(self, name: str, value: str, **extra: str) -> ImproperlyConfigured:
        with self.subTest(name=name, value=value), self.assertRaises(ImproperlyConfigured) as caught:
            load_settings(**{name: value}, **extra)
        self.assertIn(name, str(caught.exception))
        return caught.exception

    def test_defaults_load(self):
        values = load_settings()
        self.assertEqual(
            values["LOGIN_THROTTLE"], {"ACCOUNT_MAX_FAILURES": 100, "IP_MAX_FAILURES": 300, "WINDOW_SECONDS": 900}
        )
        self.assertEqual(values["CACHES"]["default"]["BACKEND"], "django.core.cache.backends.locmem.LocMemCache")
        self.assertEqual(values["LOG_LEVEL"], "INFO")

    def test_the_default_webauthn_origin_follows_the_port(self):
        self.assertEqual(load_settings(PORT="")["FACTORS_WEBAUTHN_ORIGINS"], ["http://localhost:8000"])
        self.assertEqual(load_settings(PORT="8001")["FACTORS_WEBAUTHN_ORIGINS"], ["http://localhost:8001"])
        # Emailed links in development follow the port too.
        self.assertEqual(load_settings(PORT="8001")["SITE_URL"], "http://localhost:8001")
        given = load_settings(PORT="8001", WEBAUTHN_ORIGINS="https://auth.example.com")
        self.assertEqual(given["FACTORS_WEBAUTHN_ORIGINS"], ["https://auth.example.com"])
        for value in ("0", "65536", "http"):
            self.assertRefused("PORT", value)

    def test_throttle_values_of_zero_are_refused(self):
        # A window of 0 seconds expires every counter at once (no throttle); 0 failures throttles everyone.
        for name in (
            "LOGIN_THROTTLE_WINDOW_SECONDS",
            "LOGIN_THROTTLE_ACCOUNT_MAX_FAILURES",
            "LOGIN_THROTTLE_IP_MAX_FAILURES",
        ):
            self.assertIn("at least 1", str(self.assertRefused(name, "0")))
        values = load_settings(LOGIN_THROTTLE_WINDOW_SECONDS="1", LOGIN_THROTTLE_ACCOUNT_MAX_FAILURES="1")
        self.assertEqual(values["LOGIN_THROTTLE"]["WINDOW_SECONDS"], 1)
        self.assertEqual(values["LOGIN_THROTTLE"]["ACCOUNT_MAX_FAILURES"], 1)

    def test_other_timeouts_caps_and_windows_have_bounds(self):
        for name, value in (
            ("LOGIN_PENDING_TIMEOUT", "0"),
            ("REAUTH_WINDOW_SECONDS", "0"),
            ("SESSION_IDLE_TIMEOUT", "0"),
            ("SESSION_ABSOLUTE_TIMEOUT", "0"),
            ("ACCOUNT_ACTIVATION_TIMEOUT", "0"),
            ("ACCOUNT_ACTIVATION_TIMEOUT", "600"),  # the email counts whole hours
            ("TWILIO_TIMEOUT", "0"),
            ("NOTIFICATION_MAX_ATTEMPTS", "0"),
            ("RISK_TRUSTED_DEVICE_DAYS", "0"),
            ("RISK_TRUSTED_DEVICE_DAYS", "100000000"),
            ("RISK_FIRST_LOGIN_GRACE_HOURS", "100000000"),
            ("TRUSTED_PROXY_COUNT", "-1"),
        ):
            self.assertRefused(name, value)
        self.assertRefused("SMTP_TIMEOUT", "0", MAIL_BACKEND="smtp")
        self.assertRefused("SMTP_PORT", "0", MAIL_BACKEND="smtp")
        self.assertRefused("SMTP_PORT", "70000", MAIL_BACKEND="smtp")
        # Zero still means something sensible for these.
        values = load_settings(TRUSTED_PROXY_COUNT="0", DATABASE_CONN_MAX_AGE="0", RISK_FIRST_LOGIN_GRACE_HOURS="0")
        self.assertEqual(values["TRUSTED_PROXY_COUNT"], 0)
        self.assertEqual(values["DATABASES"]["default"]["CONN_MAX_AGE"], 0)
        self.assertEqual(values["RISK_FIRST_LOGIN_GRACE_HOURS"], 0)

    def test_redis_url_must_be_a_redis_url(self):
        for value in ("garbage", "localhost:6379", "http://cache:6379/0", "redis://cache:6379/0,memcached://x"):
            self.assertRefused("REDIS_URL", value)
        error = self.assertRefused("REDIS_URL", "https://:hunter2@cache:6379/0")
        self.assertNotIn("hunter2", str(error))
        for value in ("redis://cache:6379/0", "rediss://:pw@cache:6380/1", "unix:///run/redis.sock"):
            with self.subTest(value=value):
                cache = load_settings(REDIS_URL=value)["CACHES"]["default"]
                self.assertEqual(cache["BACKEND"], "django.core.cache.backends.redis.RedisCache")
                self.assertEqual(cache["LOCATION"], value)
        self.assertEqual(
            load_settings(REDIS_URL="")["CACHES"]["default"]["BACKEND"], "django.core.cache.backends.locmem.LocMemCache"
        )

    def test_database_url_errors_name_the_variable(self):
        self.assertRefused("DATABASE_URL", "garbage")
        error = self.assertRefused("DATABASE_URL", "postgress://app:hunter2@db:5432/app")
        self.assertNotIn("hunter2", str(error))
        self.assertIn("postgress", str(error))
        database = load_settings(DATABASE_URL="postgres://app:pw@db:5432/app")["DATABASES"]["default"]
        self.assertEqual((database["ENGINE"], database["NAME"]), ("django.db.backends.postgresql", "app"))

    def test_log_level_must_be_a_logging_level(self):
        error = self.assertRefused("LOG_LEVEL", "LOUD")
        self.assertIn("DEBUG, INFO, WARNING, ERROR, CRITICAL", str(error))
        self.assertEqual(load_settings(LOG_LEVEL="debug")["LOGGING"]["loggers"]["authsite"]["level"], "DEBUG")

    def test_manage_py_check_fails_on_a_mistyped_variable(self):
        for name, value in (("SMS_BACKEND", "nonsense"), ("REDIS_URL", "garbage"), ("LOG_LEVEL", "LOUD")):
            with self.subTest(name=name):
                result = run_manage("check", env=development_env(**{name: value}))
                self.assertNotEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn(name, result.stdout + result.stderr)


class SecurityHeaderTests(TestCase):
    def test_every_page_forbids_framing_and_inline_script(self):
        for path in ("/", "/login/", "/signup/", "/password/reset/", "/no-such-page/"):
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertEqual(response["X-Frame-Options"], "DENY")
                csp = response["Content-Security-Policy"]
                self.assertIn("frame-ancestors 'none'", csp)
                self.assertIn("script-src 'self'", csp)
                self.assertNotIn("unsafe-inline", csp)
                self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                self.assertEqual(response["Referrer-Policy"], "same-origin")

    def test_pages_load_no_external_resources(self):
        for path in ("/", "/login/", "/signup/"):
            content = self.client.get(path).content.decode()
            self.assertIsNone(re.search(r'(src|href)="(https?:)?//', content), path)
            self.assertNotIn("<script>", content)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GunicornProductionPathTests(SimpleTestCase):
    """Start the real WSGI server with production settings and fetch the sign-in page."""

    def test_gunicorn_serves_login_page_with_production_headers(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = production_env(
                DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3",
                STATIC_ROOT=f"{tmp}/static",
                TRUSTED_PROXY_COUNT="1",
                MAIL_BACKEND="console",
            )
            for step in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
                result = run_manage(*step, env=env)
                self.assertEqual(result.returncode, 0, result.stderr)
            port = free_port()
            gunicorn = Path(sys.executable).with_name("gunicorn")
            server = subprocess.Popen(
                [str(gunicorn), "authsite.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            try:
                response = self._get_when_up(f"http://127.0.0.1:{port}/login/")
                body = response.read().decode()
                self.assertEqual(response.status, 200)
                self.assertIn("Sign in", body)
                headers = response.headers
                self.assertIn("max-age=31536000", headers["Strict-Transport-Security"])
                self.assertIn("frame-ancestors 'none'", headers["Content-Security-Policy"])
                cookies = headers.get_all("Set-Cookie")
                self.assertTrue(any(c.startswith("__Host-csrftoken=") and "Secure" in c for c in cookies), cookies)
                css = re.search(r'href="(/static/css/site\.[0-9a-f]+\.css)"', body)
                self.assertIsNotNone(css, "static files are not served with hashed names")
                self.assertEqual(self._get_when_up(f"http://127.0.0.1:{port}{css.group(1)}").status, 200)
            finally:
                server.terminate()
                server.wait(timeout=20)
                if server.stdout:
                    server.stdout.close()

    def _get_when_up(self, url: str):
        request = urllib.request.Request(
            url, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5", "Host": "127.0.0.1"}
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                return urllib.request.urlopen(request, timeout=5)
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
