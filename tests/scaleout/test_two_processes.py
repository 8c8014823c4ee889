"""Two gunicorn processes behind one (pretend) proxy, sharing one PostgreSQL and one Redis.

What a second process must not break: a sign-in started on one finishes on the other, and every
counter that protects the sign-in (password throttle, text-message caps, TOTP replay) is shared.
Only meaningful with PostgreSQL and Redis, so it runs in the CI pass that has both.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import unittest

from django.conf import settings
from django.db import connection

from tests.base import SimpleTestCase
from tests.scaleout.live import Browser, LiveSite, cache_keys_delete
from tests.test_settings import production_env

PASSWORD = "correct horse battery staple"
REDIS_URL = os.environ.get("REDIS_URL", "")
ON_POSTGRES_AND_REDIS = connection.vendor == "postgresql" and bool(REDIS_URL)

# Run in the servers' database by ``manage.py shell``: users and factors, printed as JSON.
SETUP_SCRIPT = """
import json
from django.utils import timezone
from authsite.accounts.models import User
from factors import services
from factors.models import SMSDevice

now = timezone.now()
out = {}
def user(email):
    return User.objects.create_user(email=email, password=%(password)r, email_verified_at=now, last_login=now)

totp_user = user("totp@example.com")
device = services.factor_enroll_totp_begin(user=totp_user, name="Phone app").device
device.confirmed = True
device.save()
out["totp"] = {"device": device.persistent_id, "key": device.bin_key.hex()}

user("throttle@example.com")

sms_user = user("sms@example.com")
out["sms"] = [
    SMSDevice.objects.create(
        user=sms_user, name=f"Mobile {i}", phone_number=f"+479123450{i}", calling_code=47,
        confirmed=True, verified_at=now,
    ).persistent_id
    for i in range(%(sms_devices)d)
]
print("SETUP" + json.dumps(out))
"""

SMS_USER_HOURLY_CAP = 5  # factors.conf FACTORS_SMS_CAPS["user"]["hour"]


def _pg_admin_connect():
    import psycopg

    params = settings.DATABASES["default"]
    return psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        user=params["USER"] or "postgres",
        password=params["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _database_url(name: str) -> str:
    params = settings.DATABASES["default"]
    auth = params["USER"] or "postgres"
    if params["PASSWORD"]:
        auth += f":{params['PASSWORD']}"
    return f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"


@unittest.skipUnless(
    ON_POSTGRES_AND_REDIS,
    "needs PostgreSQL (DATABASE_URL=postgres://...) and Redis (REDIS_URL): two processes share "
    "nothing through SQLite files and the local-memory cache; CI runs the suite again with both",
)
class TwoProcessTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.db_name = f"authsite_scale_2p_{secrets.token_hex(4)}"
        with _pg_admin_connect() as admin:
            admin.execute(f'CREATE DATABASE "{cls.db_name}"')
        cls.addClassCleanup(cls._drop_database)
        cls.cache_prefix = f"scaleout-{secrets.token_hex(4)}"
        cls.addClassCleanup(cache_keys_delete, REDIS_URL, cls.cache_prefix)
        tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(tmp.cleanup)
        env = production_env(
            DATABASE_URL=_database_url(cls.db_name),
            REDIS_URL=REDIS_URL,
            CACHE_KEY_PREFIX=cls.cache_prefix,
            TRUSTED_PROXY_COUNT="1",
            MAIL_BACKEND="console",
            SMS_BACKEND="console",
            # Plain MFA: a user with a factor is asked for it at every sign-in, whatever the risk.
            LOGIN_STAGES="factors.stages.ChallengeStage",
            LOGIN_THROTTLE_ACCOUNT_MAX_FAILURES="4",
            STATIC_ROOT=f"{tmp.name}/static",
        )
        # The servers' logs stay in the temporary directory for a look when a test fails.
        site = LiveSite(env, tmp.name)
        site.install()
        script = SETUP_SCRIPT % {"password": PASSWORD, "sms_devices": SMS_USER_HOURLY_CAP + 2}
        cls.fixtures = json.loads(site.manage("shell", "-c", script).split("SETUP", 1)[1])
        cls.addClassCleanup(site.stop)
        for _ in range(2):
            site.start(workers=1)
        site.wait()
        cls.ports = list(site.ports)

    @classmethod
    def _drop_database(cls) -> None:
        with _pg_admin_connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{cls.db_name}" WITH (FORCE)')

    # --- helpers ------------------------------------------------------------------------------

    def totp_code(self) -> str:
        from django.utils import timezone

        from factors import otp

        return otp.totp(bytes.fromhex(self.fixtures["totp"]["key"]), timezone.now())

    def password(self, browser: Browser, port: int, email: str, password: str = PASSWORD):
        return browser.post_form(port, "/login/", {"email": email, "password": password})

    def verify(self, browser: Browser, port: int, device: str, code: str):
        page = f"/login/verify/?method={device}"
        data = {"device": device, "action": "verify", "code": code}
        return browser.post_form(port, "/login/verify/", data, page=page)

    def send(self, browser: Browser, port: int, device: str) -> str:
        page = f"/login/verify/?method={device}"
        response = browser.post_form(port, "/login/verify/", {"device": device, "action": "send"}, page=page)
        self.assertEqual(response.status, 302, response.body[:500])
        return browser.get(port, response.location.replace("https://127.0.0.1", "")).body

    # --- tests ----------------------------------------------------------------------------------

    def test_sign_in_started_on_one_finishes_on_the_other_and_the_code_is_not_replayable(self):
        a, b = self.ports
        device = self.fixtures["totp"]["device"]
        first = Browser("192.0.2.10")
        started = self.password(first, a, "totp@example.com")
        self.assertEqual(started.status, 302, started.body[:500])
        self.assertTrue(started.location.endswith("/login/verify/"), started.location)
        code = self.totp_code()
        done = self.verify(first, b, device, code)
        self.assertEqual(done.status, 302, done.body[:1000])
        self.assertEqual(done.location.rstrip("/").replace("https://127.0.0.1", ""), "")
        home = first.get(a, "/")
        self.assertIn("totp@example.com", home.body)
        # The same code, accepted by process B, is refused by process A in a new sign-in.
        second = Browser("192.0.2.11")
        self.assertEqual(self.password(second, a, "totp@example.com").status, 302)
        replay = self.verify(second, a, device, code)
        self.assertEqual(replay.status, 200)
        self.assertIn("already used", replay.body)
        self.assertNotIn("totp@example.com", second.get(b, "/").body)

    def test_password_failures_on_both_processes_add_up_to_one_throttle(self):
        a, b = self.ports
        # Four failures allowed in the window (LOGIN_THROTTLE_ACCOUNT_MAX_FAILURES=4), from
        # four browsers and addresses so only the account counter can add up.
        for i, port in enumerate((a, b, a, b)):
            wrong = self.password(Browser(f"198.51.100.{20 + i}"), port, "throttle@example.com", "wrong password!")
            self.assertEqual(wrong.status, 200, f"failure {i + 1} on port {port}")
        for port in (a, b):
            with self.subTest(port=port):
                refused = self.password(Browser("198.51.100.30"), port, "throttle@example.com")
                self.assertEqual(refused.status, 429, refused.body[:500])

    def test_text_message_caps_hold_across_processes(self):
        a, b = self.ports
        devices = self.fixtures["sms"]
        browser = Browser("203.0.113.40")
        self.assertEqual(self.password(browser, a, "sms@example.com").status, 302)
        # One send per device (the cooldown is per device), alternating processes: the per-user
        # hourly cap counts all of them, so the sixth is refused by either process.
        for i in range(SMS_USER_HOURLY_CAP):
            page = self.send(browser, (a, b)[i % 2], devices[i])
            self.assertIn("We sent a code to", page, f"send {i + 1}")
        for port, device in ((a, devices[-2]), (b, devices[-1])):
            with self.subTest(port=port):
                page = self.send(browser, port, device)
                self.assertIn("Too many codes were sent recently", page)
                self.assertNotIn("We sent a code to", page)
