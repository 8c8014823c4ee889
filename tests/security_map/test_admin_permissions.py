"""Admin actions that change state need the model's change (or delete) permission, not just view.

A staff member who may only look at a list must not be offered, nor be able to POST, an action
that resets someone's factors, clears a throttle or revokes a remembered device.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from authsite.accounts.models import User
from authsite.accounts.throttle import account_key
from factors.models import RecoveryCodeDevice, TOTPDevice
from factors.services import factor_enroll_totp_begin, factor_recovery_codes_generate
from risk.models import TrustedDevice
from tests.helpers import CacheClearingTestCase, force_login_verified, make_user
from tests.risk.test_admin_and_controls import remembered

USER_ACTIONS = ("reset_mfa", "require_enrollment", "clear_throttles", "send_password_reset")
USERS = "admin:accounts_user_changelist"
TOTP_DEVICES = "admin:factors_totpdevice_changelist"
TRUSTED_DEVICES = "admin:risk_trusteddevice_changelist"
VIEW_ONLY = ("view_user", "view_totpdevice", "view_trusteddevice")


class AdminActionPermissionTestCase(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.root = make_user("root@example.com", is_staff=True, is_superuser=True)
        self.totp = factor_enroll_totp_begin(user=self.root).device
        TOTPDevice.objects.filter(pk=self.totp.pk).update(confirmed=True, throttling_failure_count=9)
        factor_recovery_codes_generate(user=self.root)
        self.remembered = remembered(self.root)
        cache.set(account_key(user_id=self.root.pk), 50)

    def staff(self, email: str, *codenames: str) -> User:
        """An OTP-verified, non-superuser staff member with only ``codenames``, signed in on self.client."""
        user = make_user(email, is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
        force_login_verified(self.client, user)
        return user

    def offered(self, changelist: str) -> set[str]:
        form = self.client.get(reverse(changelist)).context["action_form"]
        return {name for name, _ in form.fields["action"].choices} if form is not None else set()

    def act(self, changelist: str, action: str, *pks: int):
        data = {"action": action, "_selected_action": list(pks), "post": "yes"}
        return self.client.post(reverse(changelist), data)

    def assertRootUntouched(self) -> None:
        self.root.refresh_from_db()
        self.assertIsNone(self.root.mfa_enrol_required_at)
        self.assertEqual(TOTPDevice.objects.get(pk=self.totp.pk).throttling_failure_count, 9)
        self.assertTrue(RecoveryCodeDevice.objects.filter(user=self.root).exists())
        self.assertEqual(cache.get(account_key(user_id=self.root.pk)), 50)
        self.assertIsNone(TrustedDevice.objects.get(pk=self.remembered.pk).revoked_at)
        self.assertEqual(mail.outbox, [])


class ViewOnlyStaffActionTests(AdminActionPermissionTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.staff("viewer@example.com", *VIEW_ONLY)

    def test_user_actions_are_neither_offered_nor_run(self):
        for action in USER_ACTIONS:
            with self.subTest(action=action):
                response = self.act(USERS, action, self.root.pk)
                self.assertIn(response.status_code, (200, 302, 403))
                self.assertRootUntouched()
        self.assertEqual(self.offered(USERS) & set(USER_ACTIONS), set())

    def test_factor_actions_are_neither_offered_nor_run(self):
        for action in ("reset_throttle", "revoke"):
            with self.subTest(action=action):
                response = self.act(TOTP_DEVICES, action, self.totp.pk)
                self.assertIn(response.status_code, (200, 302, 403))
                self.assertTrue(TOTPDevice.objects.filter(pk=self.totp.pk).exists())
                self.assertRootUntouched()
        self.assertEqual(self.offered(TOTP_DEVICES) & {"reset_throttle", "revoke"}, set())

    def test_remembered_device_revoke_is_neither_offered_nor_run(self):
        response = self.act(TRUSTED_DEVICES, "revoke", self.remembered.pk)
        self.assertIn(response.status_code, (200, 302, 403))
        self.assertRootUntouched()
        self.assertNotIn("revoke", self.offered(TRUSTED_DEVICES))


class ChangePermissionStaffActionTests(AdminActionPermissionTestCase):
    def test_staff_who_may_change_users_run_the_user_actions(self):
        self.staff("helpdesk@example.com", "view_user", "change_user")
        self.assertLessEqual(set(USER_ACTIONS), self.offered(USERS))
        self.act(USERS, "clear_throttles", self.root.pk)
        self.assertEqual(TOTPDevice.objects.get(pk=self.totp.pk).throttling_failure_count, 0)
        self.assertIsNone(cache.get(account_key(user_id=self.root.pk)))
        self.act(USERS, "send_password_reset", self.root.pk)
        self.assertEqual(mail.outbox[-1].to, [self.root.email])
        self.act(USERS, "require_enrollment", self.root.pk)
        self.root.refresh_from_db()
        self.assertIsNotNone(self.root.mfa_enrol_required_at)
        self.act(USERS, "reset_mfa", self.root.pk)
        self.assertFalse(TOTPDevice.objects.filter(user=self.root).exists())
        self.assertIsNotNone(TrustedDevice.objects.get(pk=self.remembered.pk).revoked_at)

    def test_resetting_a_throttle_needs_change_and_revoking_a_factor_needs_delete(self):
        self.staff("helpdesk@example.com", "view_totpdevice", "change_totpdevice")
        self.assertIn("reset_throttle", self.offered(TOTP_DEVICES))
        self.assertNotIn("revoke", self.offered(TOTP_DEVICES))
        self.act(TOTP_DEVICES, "revoke", self.totp.pk)
        self.assertTrue(TOTPDevice.objects.filter(pk=self.totp.pk).exists())
        self.act(TOTP_DEVICES, "reset_throttle", self.totp.pk)
        self.assertEqual(TOTPDevice.objects.get(pk=self.totp.pk).throttling_failure_count, 0)
        self.staff("remover@example.com", "view_totpdevice", "delete_totpdevice")
        self.assertIn("revoke", self.offered(TOTP_DEVICES))
        self.act(TOTP_DEVICES, "revoke", self.totp.pk)
        self.assertFalse(TOTPDevice.objects.filter(pk=self.totp.pk).exists())

    def test_staff_who_may_change_remembered_devices_revoke_them(self):
        self.staff("helpdesk@example.com", "view_trusteddevice", "change_trusteddevice")
        self.assertIn("revoke", self.offered(TRUSTED_DEVICES))
        self.act(TRUSTED_DEVICES, "revoke", self.remembered.pk)
        self.assertIsNotNone(TrustedDevice.objects.get(pk=self.remembered.pk).revoked_at)


class RiskDashboardPermissionTests(AdminActionPermissionTestCase):
    def test_the_dashboard_needs_permission_to_view_login_events(self):
        dashboard = reverse("admin:risk_dashboard")
        self.staff("viewer@example.com", "view_user")
        self.assertEqual(self.client.get(dashboard).status_code, 403)
        self.assertNotContains(self.client.get(reverse("admin:index")), dashboard)
        self.staff("analyst@example.com", "view_loginevent")
        self.assertEqual(self.client.get(dashboard).status_code, 200)
        self.assertContains(self.client.get(reverse("admin:index")), dashboard)
