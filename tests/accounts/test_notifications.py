"""Notifications go through the task framework and never break the request that sends them."""

from __future__ import annotations

from django.core import mail
from django.test import override_settings

from authsite.accounts.services import send_templated_email
from tests.helpers import BROKEN_MAILER, PASSWORD, CacheClearingTestCase, make_user


class NotificationTests(CacheClearingTestCase):
    def test_sent_through_the_task_with_the_site_name(self):
        self.assertTrue(
            send_templated_email(to="a@example.com", subject="hello", template="emails/signup_exists.txt", context={})
        )
        self.assertEqual(mail.outbox[-1].subject, "Adaptive MFA: hello")
        self.assertEqual(mail.outbox[-1].to, ["a@example.com"])

    @override_settings(MAILERS=BROKEN_MAILER)
    def test_failed_send_is_logged_without_the_body_and_not_raised(self):
        with self.assertLogs("authsite.notifications", "ERROR") as logs:
            sent = send_templated_email(
                to="a@example.com",
                subject="s",
                template="emails/activate.txt",
                context={"activate_url": "SECRETLINK", "hours": 24},
            )
        self.assertFalse(sent)
        self.assertIn("notification failed", logs.output[0])
        self.assertNotIn("SECRETLINK", "".join(logs.output))

    def test_a_broken_mailer_does_not_break_a_factor_change(self):
        from factors.registry import Strength
        from factors.stepup import factor_reauth_mark
        from tests.helpers import totp_device

        user = make_user()
        self.client.post("/login/", {"email": user.email, "password": PASSWORD})
        device, _ = totp_device(user)
        session = self.client.session
        factor_reauth_mark(session, Strength.PHISHING_RESISTANT)
        session.save()
        with override_settings(MAILERS=BROKEN_MAILER), self.assertLogs("authsite.notifications", "ERROR"):
            response = self.client.post("/account/security/remove/", {"device": device.persistent_id})
        self.assertRedirects(response, "/account/security/", fetch_redirect_response=False)
        self.assertFalse(type(device).objects.filter(pk=device.pk).exists())

    def test_a_broken_mailer_does_not_break_signup(self):
        with override_settings(MAILERS=BROKEN_MAILER), self.assertLogs("authsite.notifications", "ERROR"):
            response = self.client.post("/signup/", {"email": "new@example.com", "password": PASSWORD})
        self.assertRedirects(response, "/signup/done/", fetch_redirect_response=False)


class DeviceLineTests(CacheClearingTestCase):
    def test_every_email_names_the_device_the_same_way(self):
        from authsite.accounts.services import notify_password_changed
        from factors.notify import notify_factor_change
        from tests.base import BrowserRequestFactory as RequestFactory
        from tests.risk.test_login_flow import LAPTOP

        user = make_user()
        request = RequestFactory().post("/", HTTP_USER_AGENT=LAPTOP, REMOTE_ADDR="192.0.2.10")
        notify_factor_change(request, user=user, subject="a sign-in method was added", what="An app was added.")
        notify_password_changed(request, user=user, how="changed")
        self.assertEqual(len(mail.outbox), 2)
        for message in mail.outbox:
            with self.subTest(subject=message.subject):
                self.assertIn("From: 192.0.2.10 (Chrome 131 on Mac OS X 10.15)", message.body)
                self.assertNotIn("Mozilla", message.body)
