"""The user admin: factors inline without secrets, MFA reset, throttle clearing, reset links, no passwords."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core import mail
from django.core.cache import cache
from django.test import override_settings
from django.urls import NoReverseMatch, reverse

from authsite.accounts.models import User
from authsite.accounts.sessions_models import UserSession
from authsite.accounts.throttle import account_key
from factors.models import EmailDevice, RecoveryCodeDevice, TOTPDevice
from factors.services import factor_enroll_totp_begin, factor_recovery_codes_generate
from tests.accounts.test_notifications import BROKEN_MAILER
from tests.base import BrowserClient as Client
from tests.helpers import CacheClearingTestCase, force_login_verified, make_user
from tests.risk.test_admin_and_controls import remembered


class UserAdminTestCase(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.staff = make_user("admin@example.com", is_staff=True, is_superuser=True)
        force_login_verified(self.client, self.staff)
        self.user = make_user("bob@example.com")
        self.totp = factor_enroll_totp_begin(user=self.user)
        TOTPDevice.objects.filter(pk=self.totp.device.pk).update(confirmed=True)
        factor_recovery_codes_generate(user=self.user)
        self.change_url = reverse("admin:accounts_user_change", args=[self.user.pk])
        self.changelist = reverse("admin:accounts_user_changelist")

    def act(self, action: str, *users: User, **extra):
        data = {"action": action, "_selected_action": [u.pk for u in users or (self.user,)], **extra}
        return self.client.post(self.changelist, data, follow=True)


class UserChangePageTests(UserAdminTestCase):
    def test_factors_are_shown_inline_without_secrets(self):
        TOTPDevice.objects.filter(pk=self.totp.device.pk).update(throttling_failure_count=3)
        response = self.client.get(self.change_url)
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        self.assertIn(self.totp.device.name, body)
        self.assertIn("Recovery codes", body)
        self.assertIn("Unused codes", body)
        self.assertIn("Locked until", body)
        self.assertNotIn(TOTPDevice.objects.get(pk=self.totp.device.pk).encrypted_key, body)
        self.assertNotIn(self.totp.secret_b32, body)
        for code_hash in RecoveryCodeDevice.objects.get(user=self.user).codes.values_list("code_hash", flat=True):
            self.assertNotIn(code_hash, body)
        # A link to each device's page, where it can be revoked.
        self.assertIn(reverse("admin:factors_totpdevice_change", args=[self.totp.device.pk]), body)

    def test_no_password_field_and_no_password_page(self):
        response = self.client.get(self.change_url)
        self.assertNotIn('name="password', response.content.decode())
        self.assertNotIn(self.user.password, response.content.decode())
        # UserAdmin's "change password" page is gone.
        with self.assertRaises(NoReverseMatch):
            reverse("admin:auth_user_password_change", args=[self.user.pk])
        response = self.client.get(f"/admin/accounts/user/{self.user.pk}/password/", follow=True)
        self.assertNotContains(response, 'name="password1"', status_code=response.status_code)
        add = self.client.get(reverse("admin:accounts_user_add"))
        self.assertEqual(add.status_code, 200)
        self.assertNotIn('name="password1"', add.content.decode())

    def change_form_data(self, **changes) -> dict:
        """What the change page would post back unchanged (inline formsets included), plus ``changes``."""
        page = self.client.get(self.change_url)
        data = {}
        for inline in page.context["inline_admin_formsets"]:
            formset = inline.formset
            management = formset.management_form
            data.update({management.add_prefix(k): v for k, v in management.initial.items()})
            for form in formset.forms:
                data[form.add_prefix("id")] = form.instance.pk
                data[form.add_prefix("user")] = self.user.pk
        form = page.context["adminform"].form
        for name in form.fields:
            value = form.initial.get(name)
            if isinstance(value, bool):
                if value:
                    data[name] = "on"
            elif isinstance(value, list):
                data[name] = [getattr(v, "pk", v) for v in value]
            elif value is not None:
                data[name] = value
        return {**data, **changes}

    def test_the_email_address_cannot_be_changed_once_the_account_exists(self):
        page = self.client.get(self.change_url)
        self.assertNotContains(page, 'name="email"')
        self.assertContains(page, "bob@example.com")
        self.assertContains(self.client.get(reverse("admin:accounts_user_add")), 'name="email"')
        response = self.client.post(
            self.change_url, self.change_form_data(email="bob@new.example", first_name="Robert")
        )
        self.assertRedirects(response, self.changelist, fetch_redirect_response=False)
        self.user.refresh_from_db()
        self.assertEqual((self.user.email, self.user.first_name), ("bob@example.com", "Robert"))

    def test_adding_a_user_gives_an_unusable_password_and_sends_a_reset_link(self):
        response = self.client.post(
            reverse("admin:accounts_user_add"),
            {"email": "New@Example.com", "first_name": "New", "last_name": "Person", "_save": "Save"},
            follow=True,
        )
        self.assertEqual(response.status_code, 200)
        user = User.objects.get(email="new@example.com")
        self.assertFalse(user.has_usable_password())
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["new@example.com"])
        self.assertIn("/password/reset/", mail.outbox[0].body)
        # The link lets the new user choose a password.
        link = re.search(r"http://testserver(/password/reset/\S+)", mail.outbox[0].body).group(1)
        owner = Client()
        form_page = owner.get(link, follow=True)
        self.assertEqual(form_page.status_code, 200)
        new = "a brand new passphrase"
        owner.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
        user.refresh_from_db()
        self.assertTrue(user.check_password(new))

    def test_adding_a_user_when_the_link_cannot_be_sent_says_so(self):
        data = {"email": "new@example.com", "first_name": "", "last_name": "", "_save": "Save"}
        with (
            override_settings(MAILERS=BROKEN_MAILER),
            self.assertLogs("authsite.notifications", "ERROR"),
            self.assertLogs("authsite.events", "INFO") as logs,
        ):
            response = self.client.post(reverse("admin:accounts_user_add"), data, follow=True)
        # The account exists; the admin is told the link did not go out and how to send it again.
        self.assertTrue(User.objects.filter(email="new@example.com").exists())
        errors = [str(m) for m in response.context["messages"] if m.level == messages.ERROR]
        self.assertEqual(len(errors), 1)
        self.assertIn("Could not send new@example.com a link to choose a password", errors[0])
        self.assertIn('Send the link again with the "Send a password reset link" action', errors[0])
        self.assertNotContains(response, "Sent new@example.com")
        sent = [r for r in logs.records if r.getMessage() == "authn_password_reset_sent"]
        self.assertEqual([r.outcome for r in sent], ["failure"])
        self.assertEqual(mail.outbox, [])

    def test_adding_an_existing_address_is_refused(self):
        response = self.client.post(reverse("admin:accounts_user_add"), {"email": "BOB@example.com"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "already exists")
        self.assertEqual(mail.outbox, [])


class UserActionTests(UserAdminTestCase):
    def test_reset_mfa_removes_factors_devices_sessions_and_emails_the_user(self):
        EmailDevice.objects.create(user=self.user, name="Email", email=self.user.email, confirmed=True)
        device = remembered(self.user)
        other_client = Client()
        other_client.force_login(self.user)
        self.assertEqual(UserSession.objects.filter(user_id=self.user.pk).count(), 1)
        # First a confirmation page that changes nothing.
        response = self.act("reset_mfa")
        self.assertContains(response, "Yes, reset MFA")
        self.assertContains(response, "bob@example.com (3 factors)")
        self.assertTrue(TOTPDevice.objects.filter(user=self.user).exists())
        self.assertEqual(mail.outbox, [])
        with self.assertLogs("authsite.events", "INFO") as logs:
            response = self.act("reset_mfa", post="yes")
        # The address as stored, not capitalised as the start of a sentence.
        self.assertContains(response, '<li class="success">bob@example.com: removed 3 factor(s)')
        for model in (TOTPDevice, EmailDevice, RecoveryCodeDevice):
            self.assertFalse(model.objects.filter(user=self.user).exists())
        device.refresh_from_db()
        self.assertIsNotNone(device.revoked_at)
        # The user's session is gone; the admin's own is not.
        self.assertEqual(UserSession.objects.filter(user_id=self.user.pk).count(), 0)
        self.assertFalse(other_client.get("/").wsgi_request.user.is_authenticated)
        self.assertEqual(self.client.get(self.changelist).status_code, 200)
        self.assertEqual(mail.outbox[-1].to, [self.user.email])
        self.assertIn("reset the sign-in methods", mail.outbox[-1].body)
        self.assertIn("at http://testserver/login/", mail.outbox[-1].body)
        reset = [r for r in logs.records if r.getMessage() == "authn_mfa_reset"]
        self.assertEqual(reset[0].by_user_id, self.staff.pk)
        self.assertEqual(reset[0].user_id, self.user.pk)
        self.assertTrue(reset[0].enrol_required)
        # The next sign-in cannot finish without a new factor, and the user's page says so.
        self.user.refresh_from_db()
        self.assertIsNotNone(self.user.mfa_enrol_required_at)
        self.assertContains(self.client.get(self.change_url), "Must set up a sign-in method since")

    def test_require_a_new_sign_in_method_keeps_factors_and_sessions(self):
        other_client = Client()
        other_client.force_login(self.user)
        flagged = '<td class="field-must_enroll"><img src="/static/admin/img/icon-yes.svg"'
        self.assertNotContains(self.client.get(self.changelist), flagged)
        with self.assertLogs("authsite.events", "INFO") as logs:
            response = self.act("require_enrollment")
        self.assertContains(response, "must set up a new sign-in method at their next sign-in")
        self.user.refresh_from_db()
        first = self.user.mfa_enrol_required_at
        self.assertIsNotNone(first)
        required = [r for r in logs.records if r.getMessage() == "authn_mfa_enrol_require"]
        self.assertEqual((required[0].user_id, required[0].by_user_id), (self.user.pk, self.staff.pk))
        self.assertTrue(TOTPDevice.objects.filter(user=self.user, confirmed=True).exists())
        self.assertTrue(other_client.get("/").wsgi_request.user.is_authenticated)
        # The list shows who must enroll; asking again keeps the first date.
        self.assertContains(self.client.get(self.changelist), flagged, count=1)
        self.assertContains(self.act("require_enrollment"), "already had to set up")
        self.user.refresh_from_db()
        self.assertEqual(self.user.mfa_enrol_required_at, first)
        # The change form shows the flag but cannot clear it.
        page = self.client.get(self.change_url)
        self.assertContains(page, "Must set up a sign-in method since")
        self.assertNotContains(page, 'name="mfa_enrol_required_at')

    def test_clear_throttles(self):
        TOTPDevice.objects.filter(user=self.user).update(throttling_failure_count=9)
        cache.set(account_key(user_id=self.user.pk), 50)
        response = self.act("clear_throttles")
        self.assertContains(response, "cleared the throttles")
        self.assertEqual(TOTPDevice.objects.get(user=self.user).throttling_failure_count, 0)
        self.assertIsNone(cache.get(account_key(user_id=self.user.pk)))

    def test_send_password_reset_link(self):
        with self.assertLogs("authsite.events", "INFO") as logs:
            response = self.act("send_password_reset")
        self.assertContains(response, "Sent a password reset link")
        sent = [r for r in logs.records if r.getMessage() == "authn_password_reset_sent"]
        self.assertEqual([r.outcome for r in sent], ["success"])
        self.assertEqual(mail.outbox[-1].to, [self.user.email])
        self.assertIn("/password/reset/", mail.outbox[-1].body)
        self.assertEqual(mail.outbox[-1].subject, "Adaptive MFA: reset your password")

    def test_a_reset_link_that_cannot_be_sent_is_reported_and_logged_as_a_failure(self):
        with (
            override_settings(MAILERS=BROKEN_MAILER),
            self.assertLogs("authsite.notifications", "ERROR") as failures,
            self.assertLogs("authsite.events", "INFO") as logs,
        ):
            response = self.act("send_password_reset")
        self.assertContains(response, f"Could not send a password reset link to {self.user.email}")
        self.assertNotContains(response, "Sent a password reset link")
        sent = [r for r in logs.records if r.getMessage() == "authn_password_reset_sent"]
        self.assertEqual(
            [(r.outcome, r.user_id, r.by_user_id) for r in sent], [("failure", self.user.pk, self.staff.pk)]
        )
        # The failure is logged without the message, which holds the link.
        self.assertNotIn("/password/reset/", "".join(failures.output))
        self.assertEqual(mail.outbox, [])

    def test_no_reset_link_for_an_inactive_user(self):
        User.objects.filter(pk=self.user.pk).update(is_active=False)
        response = self.act("send_password_reset")
        self.assertContains(response, "is inactive")
        self.assertEqual(mail.outbox, [])

    def test_revoke_one_factor_from_its_admin_page(self):
        bob = Client()
        force_login_verified(bob, self.user)
        with self.assertLogs("authsite.events") as logs:
            response = self.client.post(
                reverse("admin:factors_totpdevice_changelist"),
                {"action": "revoke", "_selected_action": [self.totp.device.pk]},
                follow=True,
            )
        self.assertContains(response, "Revoked 1 factor(s); their owners were signed out and emailed.")
        self.assertFalse(TOTPDevice.objects.filter(pk=self.totp.device.pk).exists())
        self.assertTrue(RecoveryCodeDevice.objects.filter(user=self.user).exists())
        self.assert_revoked_like_a_removal(bob, logs)

    def test_django_delete_page_revokes_the_same_way(self):
        bob = Client()
        force_login_verified(bob, self.user)
        url = reverse("admin:factors_totpdevice_delete", args=[self.totp.device.pk])
        with self.assertLogs("authsite.events") as logs:
            self.client.post(url, {"post": "yes"})
        self.assertFalse(TOTPDevice.objects.filter(pk=self.totp.device.pk).exists())
        self.assert_revoked_like_a_removal(bob, logs)

    def assert_revoked_like_a_removal(self, owner: Client, logs) -> None:
        """The owner is signed out everywhere, emailed, and the removal is logged with who did it."""
        self.assertFalse(owner.get("/").wsgi_request.user.is_authenticated)
        self.assertEqual([m.to for m in mail.outbox], [["bob@example.com"]])
        self.assertIn("An administrator", mail.outbox[0].body)
        self.assertIn("Authenticator app", mail.outbox[0].body)
        removed = [r for r in logs.records if r.getMessage() == "authn_mfa_removed"]
        self.assertEqual(
            [(r.user_id, r.by_user_id, r.sessions_ended) for r in removed], [(self.user.pk, self.staff.pk, 1)]
        )


class UserAdminPermissionTests(UserAdminTestCase):
    def test_only_verified_staff_get_the_pages_and_actions(self):
        plain = make_user("carol@example.com")
        staff_unverified = make_user("dave@example.com", is_staff=True, is_superuser=True)
        for who, login in ((plain, force_login_verified), (staff_unverified, Client.force_login)):
            client = Client()
            login(client, who)
            with self.subTest(who=who.email):
                self.assertNotEqual(client.get(self.change_url).status_code, 200)
                self.assertNotEqual(client.get(reverse("admin:risk_dashboard")).status_code, 200)
                for action in ("reset_mfa", "clear_throttles", "send_password_reset"):
                    data = {"action": action, "_selected_action": [self.user.pk], "post": "yes"}
                    self.assertNotEqual(client.post(self.changelist, data).status_code, 200)
                self.assertTrue(TOTPDevice.objects.filter(user=self.user).exists())
                self.assertEqual(mail.outbox, [])
        anonymous = Client()
        self.assertEqual(anonymous.get(self.change_url).status_code, 302)


class FactorChangePageTests(UserAdminTestCase):
    def test_staff_may_disable_a_factor_but_not_confirm_one(self):
        confirmed = reverse("admin:factors_totpdevice_change", args=[self.totp.device.pk])
        self.assertContains(self.client.get(confirmed), 'name="confirmed"')
        pending = factor_enroll_totp_begin(user=self.user, name="Not finished").device
        page = self.client.get(reverse("admin:factors_totpdevice_change", args=[pending.pk]))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'name="confirmed"')
        self.client.post(
            reverse("admin:factors_totpdevice_change", args=[pending.pk]), {"name": "Not finished", "confirmed": "on"}
        )
        pending.refresh_from_db()
        self.assertFalse(pending.confirmed)
