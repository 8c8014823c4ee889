"""New-device and new-place sign-in emails, sent once a sign-in has completed."""

from __future__ import annotations

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from authsite.center.activity import sign_in_is_new
from risk.models import LoginEvent
from tests.risk.test_login_flow import DEVICE, LAPTOP, OSLO_2, PHONE, SAO_PAULO, RiskFlowTestCase

SUBJECT = "new sign-in to your account"


def new_sign_in_mails() -> list:
    return [m for m in mail.outbox if m.subject.endswith(SUBJECT)]


class NewSignInEmailTests(RiskFlowTestCase):
    def test_new_phone_gets_an_email_after_the_sign_in_completes(self):
        self.learn_history()
        phone = self.client_for(OSLO_2, PHONE)
        self.sign_in(phone)
        self.assertEqual(new_sign_in_mails(), [], "nothing before the second step is passed")
        self.assertRedirects(self.pass_totp(phone, step=1), "/", fetch_redirect_response=False)
        [message] = new_sign_in_mails()
        self.assertEqual(message.to, [self.user.email])
        event = self.last_event()
        self.assertIn(f"When: {timezone.localtime(event.created_at):%-d %B %Y, %H:%M} UTC", message.body)
        self.assertIn("Where: about Oslo, NO (IP address 192.0.2.77)", message.body)
        self.assertIn("Device: Mobile Safari 17 on iOS 17.5", message.body)
        self.assertIn("http://testserver/account/security/", message.body)
        self.assertIn("http://testserver/account/activity/", message.body)

    def test_usual_laptop_gets_no_email(self):
        self.learn_history()
        laptop = self.client_for(OSLO_2, LAPTOP, DEVICE)
        self.assertRedirects(self.sign_in(laptop), "/", fetch_redirect_response=False)
        self.assertEqual(self.last_event().outcome, "success")
        self.assertEqual(mail.outbox, [])

    def test_new_country_gets_an_email(self):
        self.learn_history(last_minutes_ago=3 * 24 * 60)
        laptop = self.client_for(SAO_PAULO, LAPTOP, DEVICE)
        self.sign_in(laptop)
        self.assertIn("new_country", [r["code"] for r in self.last_event().reasons])
        self.pass_totp(laptop, step=1)
        self.assertEqual(self.last_event().outcome, "success")
        [message] = new_sign_in_mails()
        self.assertIn("Sao Paulo, BR", message.body)

    def test_a_refused_or_unfinished_sign_in_sends_no_new_sign_in_email(self):
        self.learn_history()
        phone = self.client_for(OSLO_2, PHONE)
        self.sign_in(phone)  # stops at the second step
        self.assertEqual(new_sign_in_mails(), [])

    def test_the_first_sign_in_of_an_account_sends_none(self):
        client = self.client_for(OSLO_2, LAPTOP)
        self.sign_in(client)
        self.pass_totp(client, step=1)
        self.assertEqual(self.last_event().outcome, "success")
        self.assertEqual(new_sign_in_mails(), [])

    def test_a_strongly_challenged_sign_in_that_completes_sends_one_email(self):
        self.learn_history(last_minutes_ago=10)
        laptop = self.client_for(SAO_PAULO, LAPTOP, DEVICE)
        self.sign_in(laptop)
        self.assertEqual(self.last_event().decision, "challenge_strong")
        [warning] = mail.outbox
        self.assertTrue(warning.subject.endswith("an unusual sign-in to your account"), warning.subject)
        self.assertIn("Where: about Sao Paulo, BR (IP address ", warning.body)
        self.assertRegex(warning.body, r"\nDevice: \S.* on \S", "written like the other sign-in emails")
        self.assertIn("http://testserver/account/activity/", warning.body, "the way out if it went through")
        self.assertRedirects(self.pass_totp(laptop, step=1), "/", fetch_redirect_response=False)
        self.assertEqual(self.last_event().outcome, "success")
        self.assertEqual(mail.outbox, [warning], "no second email about the same sign-in")

    @override_settings(SITE_URL="https://auth.example.com")
    def test_the_unusual_sign_in_email_links_to_the_site_url_not_the_host_header(self):
        self.learn_history(last_minutes_ago=10)
        # A port that ALLOWED_HOSTS accepts, chosen by whoever sends the request.
        laptop = self.client_for(SAO_PAULO, LAPTOP, DEVICE, HTTP_HOST="127.0.0.1:6666")
        self.sign_in(laptop)
        [warning] = mail.outbox
        self.assertIn("https://auth.example.com/account/activity/", warning.body)
        self.assertNotIn("6666", warning.body)


class SignInIsNewTests(RiskFlowTestCase):
    def event(self, *codes: str) -> LoginEvent:
        return LoginEvent(reasons=[{"code": c, "text": c} for c in codes])

    def test_rules(self):
        for codes in (("new_device",), ("unknown_device",), ("new_network",), ("new_country",), ("x", "new_device")):
            self.assertTrue(sign_in_is_new(self.event(*codes), cookie_was_missing=False), codes)
        self.assertFalse(sign_in_is_new(self.event(), cookie_was_missing=False))
        self.assertFalse(sign_in_is_new(self.event("known_device"), cookie_was_missing=False))
        # A remembered-device cookie copied into another browser, which then got through: tell the owner.
        self.assertTrue(sign_in_is_new(self.event("trusted_device_mismatch"), cookie_was_missing=False))
        # No device cookie: a browser we have not seen, unless the account has no history at all.
        self.assertTrue(sign_in_is_new(self.event("known_device"), cookie_was_missing=True))
        self.assertFalse(sign_in_is_new(self.event("first_login"), cookie_was_missing=True))
        # Malformed stored reasons are ignored rather than raising.
        self.assertFalse(sign_in_is_new(LoginEvent(reasons=["new_device", None]), cookie_was_missing=False))
