"""Authentication events as one JSON line each, with no secrets and no forged lines."""

from __future__ import annotations

import io
import json
import logging
import re

from django.core import mail

from authsite.core.logging import JsonFormatter
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user


class CapturedJsonLog:
    """Capture every record under the root logger, formatted exactly as production prints it."""

    def __enter__(self) -> CapturedJsonLog:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.handler.setLevel(logging.DEBUG)
        self.root = logging.getLogger()
        self.root.addHandler(self.handler)
        self.old_levels = {name: logging.getLogger(name).level for name in ("authsite", "django")}
        logging.getLogger("authsite").setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc) -> None:
        self.root.removeHandler(self.handler)
        for name, level in self.old_levels.items():
            logging.getLogger(name).setLevel(level)

    @property
    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]


class EventStreamTests(CacheClearingTestCase):
    def test_every_auth_event_is_one_json_line_with_the_required_fields(self):
        user = make_user()
        with CapturedJsonLog() as log:
            Client(HTTP_USER_AGENT="TestAgent/1.0").post("/login/", {"email": user.email, "password": "nope nope"})
            client = Client(HTTP_USER_AGENT="TestAgent/1.0")
            client.post("/login/", {"email": user.email, "password": PASSWORD})
            client.post("/logout/")
        events = [e for e in log.events() if e["logger"] == "authsite.events"]
        self.assertEqual(
            [e["event"] for e in events],
            ["authn_login_fail", "authn_risk_assessed", "authn_login_success", "authn_logout"],
        )
        for event in events:
            for field in ("time", "event", "outcome", "user_id", "client_ip", "user_agent", "request_id"):
                self.assertIn(field, event)
            self.assertTrue(event["time"].endswith("+00:00"))
            self.assertEqual(event["user_agent"], "TestAgent/1.0")
            self.assertEqual(event["client_ip"], "127.0.0.1")
            self.assertRegex(event["request_id"], r"^[0-9a-f]{32}$")
        self.assertIsNone(events[0]["user_id"])
        self.assertEqual(events[2]["user_id"], user.pk)

    def test_control_characters_in_client_input_cannot_forge_lines(self):
        evil = 'Agent\r\n{"event":"authn_login_success","user_id":1}\x1b[31m\x00'
        with CapturedJsonLog() as log:
            Client(HTTP_USER_AGENT=evil).post("/login/", {"email": "x@example.com", "password": "whatever12"})
        self.assertEqual(len(log.lines), 1)
        self.assertNotIn("\r", log.stream.getvalue().rstrip("\n"))
        self.assertNotIn("\x1b", log.stream.getvalue())
        self.assertEqual(log.events()[0]["user_agent"], evil)
        self.assertEqual(log.events()[0]["event"], "authn_login_fail")

    def test_no_password_token_or_session_id_in_any_log_line(self):
        new_password = "another secret passphrase"
        with CapturedJsonLog() as log:
            client = Client()
            client.post("/signup/", {"email": "bob@example.com", "password": PASSWORD})
            activation = re.search(r"http://testserver(/signup/activate/\S+)", mail.outbox[-1].body).group(1)
            client.post(activation, {"password": PASSWORD})
            client.post("/login/", {"email": "bob@example.com", "password": "wrong " + PASSWORD})
            client.post("/login/", {"email": "bob@example.com", "password": PASSWORD})
            session_id = client.cookies["sessionid"].value
            csrf = client.cookies.get("csrftoken")
            client.post(
                "/password/change/",
                {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
            )
            client.post("/password/reset/", {"email": "bob@example.com"})
            reset = re.search(r"http://testserver(/password/reset/\S+)", mail.outbox[-1].body).group(1)
            set_page = client.get(reset, follow=True).redirect_chain[-1][0]
            client.post(set_page, {"new_password1": PASSWORD + "!", "new_password2": PASSWORD + "!"})
        text = log.stream.getvalue()
        self.assertGreaterEqual(len(log.lines), 7)
        token = activation.rstrip("/").rsplit("/", 1)[1]
        reset_token = reset.rstrip("/").rsplit("/", 1)[1]
        secrets = [PASSWORD, new_password, PASSWORD + "!", token, reset_token, session_id]
        if csrf is not None:
            secrets.append(csrf.value)
        for secret in secrets:
            self.assertNotIn(secret, text)
        names = {e["event"] for e in log.events() if e.get("event")}
        self.assertLessEqual(
            {
                "user_created",
                "user_activated",
                "authn_login_fail",
                "authn_login_success",
                "authn_password_change",
                "authn_password_reset_request",
                "authn_password_reset",
            },
            names,
        )
