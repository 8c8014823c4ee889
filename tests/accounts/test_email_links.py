"""Links in emails are built on SITE_URL, never on the request's Host header; emails are plain
text that can be copied from the console (no quoted-printable line breaks)."""

from __future__ import annotations

import io
import re

from django.core import mail
from django.core.checks import run_checks
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.test import override_settings

from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user

# A host ALLOWED_HOSTS accepts (the port is not checked), as an attacker would send it.
HOSTILE = {"HTTP_HOST": "127.0.0.1:6666"}


@override_settings(SITE_URL="https://auth.example.com")
class EmailLinkHostTests(CacheClearingTestCase):
    def links(self) -> list[str]:
        return [link for message in mail.outbox for link in re.findall(r"\w+://\S+", message.body)]

    def assert_links_on_site_url(self) -> None:
        links = self.links()
        self.assertTrue(links, "the emails carry links")
        for link in links:
            self.assertTrue(link.startswith("https://auth.example.com/"), link)

    def test_reset_link_ignores_the_host_header(self):
        make_user("alice@example.com")
        Client(**HOSTILE).post("/password/reset/", {"email": "alice@example.com"})
        self.assertEqual(len(mail.outbox), 1)
        self.assert_links_on_site_url()

    def test_signup_activation_and_exists_links_ignore_the_host_header(self):
        make_user("alice@example.com")
        Client(**HOSTILE).post("/signup/", {"email": "alice@example.com", "password": "a fresh passphrase 42"})
        Client(**HOSTILE).post("/signup/", {"email": "new@example.com", "password": "a fresh passphrase 42"})
        self.assertEqual(len(mail.outbox), 2)
        self.assert_links_on_site_url()

    def test_password_change_notification_ignores_the_host_header(self):
        user = make_user("alice@example.com")
        client = Client(**HOSTILE)
        client.force_login(user)
        client.post(
            "/password/change/",
            {
                "old_password": PASSWORD,
                "new_password1": "another long passphrase",
                "new_password2": "another long passphrase",
            },
        )
        self.assertEqual(len(mail.outbox), 1)
        self.assert_links_on_site_url()


class SiteUrlCheckTests(CacheClearingTestCase):
    def ids(self, deploy: bool = False) -> set[str]:
        return {message.id for message in run_checks(include_deployment_checks=deploy)}

    def test_production_needs_a_well_formed_https_site_url(self):
        with override_settings(DEBUG=False, SITE_URL=""):
            self.assertIn("accounts.E005", self.ids())
        for bad in ("auth.example.com", "https://auth.example.com/path/", "ftp://auth.example.com", "https://"):
            with self.subTest(url=bad), override_settings(SITE_URL=bad):
                self.assertIn("accounts.E006", self.ids())
        with override_settings(DEBUG=False, SITE_URL="http://auth.example.com"):
            self.assertIn("accounts.E007", self.ids(deploy=True))
        with override_settings(DEBUG=False, SITE_URL="https://auth.example.com:8443"):
            self.assertFalse({"accounts.E005", "accounts.E006", "accounts.E007"} & self.ids(deploy=True))


class ConsoleEmailTests(CacheClearingTestCase):
    def test_a_long_link_stays_on_one_line_in_the_console(self):
        from authsite.accounts.tasks import send_email

        stream = io.StringIO()
        link = "https://auth.example.com/signup/activate/" + "eyJ1IjoxLCJzIjoiYWJjIn0" * 6 + ":1vAbCd:signature/"
        StreamConsole.stream = stream
        self.addCleanup(setattr, StreamConsole, "stream", None)
        with override_settings(
            MAILERS={"default": {"BACKEND": "tests.accounts.test_email_links.StreamConsole", "OPTIONS": {}}}
        ):
            send_email.call(to="a@example.com", subject="confirm", body=f"Open this link, caf\u00e9:\n\n{link}\n")
        output = stream.getvalue()
        self.assertIn(f"\n{link}\n", output)
        self.assertNotIn("quoted-printable", output)
        self.assertIn("caf\u00e9", output)
        self.assertIn("Content-Transfer-Encoding: 8bit", output)


class StreamConsole(ConsoleEmailBackend):
    """The console mail backend of development, writing to a stream the test reads."""

    stream = None

    def __init__(self, **kwargs) -> None:
        super().__init__(stream=StreamConsole.stream, **kwargs)
