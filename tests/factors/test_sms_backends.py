"""SMS backends: the loader, console and locmem, and the real Twilio SDK against a local fake."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from twilio.http.http_client import TwilioHttpClient

from factors.sms import SmsDeliveryError, get_backend, send_sms
from factors.sms.backends import console, locmem, twilio
from tests.base import SimpleTestCase
from tests.factors.test_views import CHALLENGE, last_code, sms_device
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user, totp_device

ACCOUNT_SID = "AC" + "0" * 32
TWILIO_SETTINGS = {
    "FACTORS_SMS_BACKEND": "tests.factors.test_sms_backends.LocalTwilioBackend",
    "FACTORS_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "FACTORS_TWILIO_AUTH_TOKEN": "test-auth-token",
    "FACTORS_TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
    "FACTORS_TWILIO_TIMEOUT": 0.5,
}


class FakeTwilio(ThreadingHTTPServer):
    """A tiny stand-in for api.twilio.com on 127.0.0.1 that records requests."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeTwilioHandler)
        self.mode = "created"
        self.requests: list[dict] = []
        self.release = threading.Event()


class FakeTwilioHandler(BaseHTTPRequestHandler):
    server: FakeTwilio

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        self.server.requests.append({"path": self.path, "form": form, "auth": self.headers.get("Authorization", "")})
        if self.server.mode == "hang":
            # Answer only after the client has given up (it waits 0.5 s).
            self.server.release.wait(5)
            return
        if self.server.mode == "error":
            self.reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
            return
        if self.server.mode == "invalid_number":
            self.reply(400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
            return
        if self.server.mode == "html200":
            # A proxy or captive portal answering in Twilio's place: 200, but not JSON.
            self.reply_raw(200, b"<html><body>Please sign in to the network</body></html>", "text/html")
            return
        if self.server.mode == "no_sid":
            self.reply(201, {"account_sid": ACCOUNT_SID, "status": "queued"})
            return
        self.reply(
            201,
            {
                "sid": "SM" + "a" * 32,
                "account_sid": ACCOUNT_SID,
                "status": "queued",
                "to": form["To"][0],
                "body": form["Body"][0],
            },
        )

    def reply(self, status: int, payload: dict) -> None:
        self.reply_raw(status, json.dumps(payload).encode(), "application/json")

    def reply_raw(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RedirectingHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, with scheme and host replaced by the fake's address."""

    base_url = ""

    def request(self, method, url, *args, **kwargs):
        parts = urllib.parse.urlsplit(url)
        local = urllib.parse.urlunsplit(("http", type(self).base_url, parts.path, parts.query, ""))
        return super().request(method, local, *args, **kwargs)


class LocalTwilioBackend(twilio.SmsBackend):
    http_client_class = RedirectingHttpClient


def start_fake_twilio(test) -> FakeTwilio:
    """Serve a FakeTwilio for the length of ``test`` and point the SDK's client at it."""
    fake = FakeTwilio()
    thread = threading.Thread(target=fake.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    test.addCleanup(thread.join, 5)
    test.addCleanup(fake.server_close)
    test.addCleanup(fake.shutdown)
    test.addCleanup(fake.release.set)
    RedirectingHttpClient.base_url = f"127.0.0.1:{fake.server_address[1]}"
    get_backend.cache_clear()
    test.addCleanup(get_backend.cache_clear)
    return fake


@override_settings(**TWILIO_SETTINGS)
class TwilioBackendTests(SimpleTestCase):
    def setUp(self):
        self.fake = start_fake_twilio(self)

    def test_201_returns_the_message_sid_and_posts_the_expected_form(self):
        sid = send_sms(to="+447911123456", body="123456 is your code.")
        self.assertEqual(sid, "SM" + "a" * 32)
        [request] = self.fake.requests
        self.assertEqual(request["path"], f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
        self.assertEqual(request["form"]["To"], ["+447911123456"])
        self.assertEqual(request["form"]["Body"], ["123456 is your code."])
        self.assertEqual(request["form"]["MessagingServiceSid"], ["MG" + "1" * 32])
        self.assertNotIn("From", request["form"])
        self.assertTrue(request["auth"].startswith("Basic "))

    def test_no_log_line_carries_the_message_body(self):
        with self.assertLogs(level=logging.DEBUG) as logs:
            logging.getLogger("factors").debug("marker")
            send_sms(to="+447911123456", body="424242 is your code.")
        self.assertTrue(any("Twilio API Request" in line for line in logs.output))
        self.assertFalse(any("424242" in line for line in logs.output))

    @override_settings(FACTORS_TWILIO_MESSAGING_SERVICE_SID="", FACTORS_TWILIO_FROM_NUMBER="+15005550006")
    def test_from_number_when_no_messaging_service(self):
        send_sms(to="+447911123456", body="hi")
        self.assertEqual(self.fake.requests[0]["form"]["From"], ["+15005550006"])

    def test_http_500_is_a_delivery_error(self):
        self.fake.mode = "error"
        with self.assertRaises(SmsDeliveryError) as ctx:
            send_sms(to="+447911123456", body="123456 is your code.")
        self.assertIn("status=500", str(ctx.exception))
        self.assertNotIn("123456", str(ctx.exception))

    def test_http_400_is_a_delivery_error(self):
        self.fake.mode = "invalid_number"
        with self.assertRaises(SmsDeliveryError) as ctx:
            send_sms(to="+447911123456", body="x")
        self.assertIn("code=21211", str(ctx.exception))

    def test_non_json_200_is_a_delivery_error(self):
        self.fake.mode = "html200"
        with self.assertRaises(SmsDeliveryError) as ctx:
            send_sms(to="+447911123456", body="123456 is your code.")
        self.assertIn("JSONDecodeError", str(ctx.exception))
        self.assertNotIn("123456", str(ctx.exception))
        self.assertNotIn("html", str(ctx.exception))

    def test_2xx_without_a_message_sid_is_a_delivery_error(self):
        self.fake.mode = "no_sid"
        with self.assertRaises(SmsDeliveryError) as ctx:
            send_sms(to="+447911123456", body="123456 is your code.")
        self.assertIn("no message sid", str(ctx.exception))

    def test_timeout_is_a_delivery_error(self):
        self.fake.mode = "hang"
        with self.assertRaises(SmsDeliveryError) as ctx:
            send_sms(to="+447911123456", body="x")
        self.assertIn("Timeout", str(ctx.exception))

    def test_connection_refused_is_a_delivery_error(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free_port = probe.getsockname()[1]
        RedirectingHttpClient.base_url = f"127.0.0.1:{free_port}"
        with self.assertRaises(SmsDeliveryError) as ctx:
            send_sms(to="+447911123456", body="x")
        self.assertIn("ConnectionError", str(ctx.exception))
        self.assertEqual(self.fake.requests, [])

    def test_client_has_an_explicit_timeout(self):
        backend = get_backend()
        self.assertIsInstance(backend, LocalTwilioBackend)
        self.assertEqual(backend.client.http_client.timeout, 0.5)

    @override_settings(FACTORS_SMS_BACKEND="twilio", FACTORS_TWILIO_AUTH_TOKEN="")
    def test_missing_credentials_refuse_to_start(self):
        with self.assertRaises(ImproperlyConfigured):
            get_backend()


@override_settings(**TWILIO_SETTINGS, LOGIN_STAGES=["factors.stages.ChallengeStage"])
class TwilioChallengeTests(CacheClearingTestCase):
    """The challenge page with the real SDK: a broken reply is "choose another way", never a 500."""

    def setUp(self):
        super().setUp()
        self.fake = start_fake_twilio(self)
        self.user = make_user()

    def test_non_json_200_offers_another_way_and_leaves_nothing_half_written(self):
        device = sms_device(self.user)
        totp_device(self.user, name="Backup app")
        self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        self.fake.mode = "html200"
        with (
            mock.patch("factors.seams.random_digits", return_value="424242"),
            self.assertLogs(level="WARNING") as logs,
        ):
            response = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"}, follow=True)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "We couldn&#x27;t send a text right now; choose another way.")
        self.assertContains(response, "Backup app")
        self.assertNotIn(SESSION_KEY, self.client.session)
        self.assertEqual(len(self.fake.requests), 1)
        output = "\n".join(logs.output)
        self.assertIn("sms delivery failed", output)
        self.assertNotIn("424242", output)
        self.assertNotIn(device.phone_number.lstrip("+"), output)
        # The undelivered code is void and no cooldown blocks asking again.
        device.refresh_from_db()
        self.assertEqual(device.token_hash, "")
        self.assertIsNone(device.valid_until)
        self.assertIsNone(device.last_generated_timestamp)
        self.assertEqual(device.cooldown_seconds_left(), 0)
        # Once Twilio answers properly, a retry at once sends a code that signs in.
        self.fake.mode = "created"
        self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "send"})
        self.assertEqual(len(self.fake.requests), 2)
        code = last_code(self.fake.requests[1]["form"]["Body"][0])
        ok = self.client.post(CHALLENGE, {"device": device.persistent_id, "action": "verify", "code": code})
        self.assertRedirects(ok, "/", fetch_redirect_response=False)


class LoaderAndDevBackendTests(SimpleTestCase):
    def tearDown(self):
        get_backend.cache_clear()
        locmem.outbox.clear()

    def test_aliases_and_cache_cleared_on_setting_change(self):
        with override_settings(FACTORS_SMS_BACKEND="locmem"):
            backend = get_backend()
            self.assertIsInstance(backend, locmem.SmsBackend)
            self.assertIs(get_backend(), backend)
        with override_settings(FACTORS_SMS_BACKEND="factors.sms.backends.console.SmsBackend"):
            self.assertIsInstance(get_backend(), console.SmsBackend)

    @override_settings(FACTORS_SMS_BACKEND="factors.models.SMSDevice")
    def test_a_non_backend_class_is_refused(self):
        with self.assertRaises(TypeError):
            get_backend()

    @override_settings(FACTORS_SMS_BACKEND="locmem")
    def test_locmem_outbox_and_simulated_failure(self):
        send_sms(to="+447911123456", body="hello")
        self.assertEqual([(m.to, m.body) for m in locmem.outbox], [("+447911123456", "hello")])
        locmem.SmsBackend.fail = True
        self.addCleanup(setattr, locmem.SmsBackend, "fail", False)
        with self.assertRaises(SmsDeliveryError):
            send_sms(to="+447911123456", body="hello")

    def test_console_prints_to_its_stream_not_to_the_log(self):
        stream = io.StringIO()
        backend = console.SmsBackend(stream=stream)
        with self.assertNoLogs("factors", "DEBUG"):
            message_id = backend.send_message(to="+447911123456", body="424242 is your code.")
        self.assertIn("424242 is your code.", stream.getvalue())
        self.assertIn("+447911123456", stream.getvalue())
        self.assertTrue(message_id.startswith("console-"))
