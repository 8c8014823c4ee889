"""The devices speak django-otp's protocol, so its helpers and middleware work with them."""

from __future__ import annotations

import django_otp
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from django_otp.models import Device

from factors import otp
from factors.models import TOTPDevice
from factors.services import factor_recovery_codes_generate
from tests.base import BrowserRequestFactory as RequestFactory
from tests.base import TestCase
from tests.factors.base import FactorsTestMixin
from tests.helpers import make_user, unique_email


class DjangoOtpProtocolTests(FactorsTestMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())
        self.totp = TOTPDevice(user=self.user, name="App", confirmed=True)
        self.totp.set_key(b"\x05" * 20)
        self.totp.save()
        factor_recovery_codes_generate(user=self.user)

    def test_devices_for_user_finds_confirmed_factor_devices(self):
        pending = TOTPDevice(user=self.user, name="Pending")
        pending.set_key(b"\x06" * 20)
        pending.save()
        found = {d.persistent_id for d in django_otp.devices_for_user(self.user)}
        self.assertIn(self.totp.persistent_id, found)
        self.assertNotIn(pending.persistent_id, found)
        self.assertTrue(django_otp.user_has_device(self.user))

    def test_from_persistent_id_for_verify_and_login(self):
        with transaction.atomic():
            device = Device.from_persistent_id(self.totp.persistent_id, for_verify=True)
            self.assertIsInstance(device, TOTPDevice)
            self.assertTrue(device.verify_token(otp.totp(b"\x05" * 20, self.clock())))
        request = RequestFactory().get("/")
        request.session = SessionStore()
        request.user = self.user
        django_otp.login(request, device)
        self.assertEqual(request.session[django_otp.DEVICE_ID_SESSION_KEY], self.totp.persistent_id)
        self.assertEqual(request.user.otp_device, device)

    def test_anonymous_user_has_no_devices(self):
        self.assertEqual(list(django_otp.devices_for_user(AnonymousUser())), [])
