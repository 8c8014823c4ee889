"""The admin shows devices without their secrets and cannot create them."""

from __future__ import annotations

from django.urls import reverse

from factors.models import (
    EmailDevice,
    RecoveryCodeDevice,
    SMSDevice,
    TOTPDevice,
    WebAuthnCredential,
)
from factors.services import factor_enroll_totp_begin, factor_recovery_codes_generate
from tests.base import TestCase
from tests.factors.base import FactorsTestMixin
from tests.helpers import force_login_verified, make_user, unique_email


class FactorAdminTests(FactorsTestMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.admin = make_user(unique_email(), is_staff=True, is_superuser=True)
        force_login_verified(self.client, self.admin)
        self.user = make_user(unique_email())
        self.enrollment = factor_enroll_totp_begin(user=self.user)
        factor_recovery_codes_generate(user=self.user)

    def test_change_pages_show_no_secret(self):
        device = self.enrollment.device
        url = reverse("admin:factors_totpdevice_change", args=[device.pk])
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        self.assertIn(device.name, body)
        self.assertNotIn(device.encrypted_key, body)
        self.assertNotIn(self.enrollment.secret_b32, body)

    def test_changelists_render_and_adding_is_refused(self):
        for model in (TOTPDevice, SMSDevice, EmailDevice, WebAuthnCredential, RecoveryCodeDevice):
            name = model._meta.model_name
            with self.subTest(model=name):
                self.assertEqual(self.client.get(reverse(f"admin:factors_{name}_changelist")).status_code, 200)
                with self.assertLogs("django.request", "WARNING"):
                    self.assertEqual(self.client.get(reverse(f"admin:factors_{name}_add")).status_code, 403)

    def test_recovery_changelist_shows_remaining_codes(self):
        response = self.client.get(reverse("admin:factors_recoverycodedevice_changelist"))
        self.assertContains(response, "Unused codes")
        self.assertContains(response, '<td class="field-remaining">10</td>', html=True)

    def test_reset_throttle_action(self):
        device = self.enrollment.device
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=7)
        response = self.client.post(
            reverse("admin:factors_totpdevice_changelist"),
            {"action": "reset_throttle", "_selected_action": [device.pk]},
            follow=True,
        )
        self.assertEqual(response.status_code, 200)
        device.refresh_from_db()
        self.assertEqual(device.throttling_failure_count, 0)
