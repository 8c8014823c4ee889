"""The Security center: active sessions, recent sign-ins and "This wasn't me", through the views."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from authsite.accounts.sessions import session_public_id
from authsite.accounts.sessions_models import UserSession
from risk.models import LoginEvent, TrustedDevice
from tests.base import BrowserClient as Client
from tests.factors.test_webauthn import PasskeyUserTestCase
from tests.helpers import PASSWORD, SHIPPED_STAGES, make_login_event, make_user
from tests.risk.test_login_flow import DEVICE, LAPTOP, OSLO_2, PHONE, SAO_PAULO, RiskFlowTestCase

SECURITY = "/account/security/"
ACTIVITY = "/account/activity/"
END = "/account/security/sessions/end/"
END_OTHERS = "/account/security/sessions/end-others/"
NOT_ME = "/account/activity/not-me/"


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


class PasswordOnlyTestCase(RiskFlowTestCase):
    """Demo GeoIP databases and the risk listener, but a password alone signs in."""

    def setUp(self) -> None:
        super().setUp()
        override = override_settings(LOGIN_STAGES=[])
        override.enable()
        self.addCleanup(override.disable)

    def browser(self, ip: str, ua: str, user=None) -> Client:
        client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=ua)
        response = client.post("/login/", {"email": (user or self.user).email, "password": PASSWORD})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(signed_in(client))
        return client

    def public_id(self, client: Client) -> str:
        return session_public_id(client.session.session_key)


class SessionListTests(PasswordOnlyTestCase):
    def test_security_page_lists_each_session_with_device_place_and_times(self):
        laptop = self.browser(OSLO_2, LAPTOP)
        phone = self.browser(SAO_PAULO, PHONE)
        page = laptop.get(SECURITY)
        self.assertContains(page, 'data-testid="session"', count=2)
        self.assertContains(page, "Near Oslo, NO")
        self.assertContains(page, "Near Sao Paulo, BR")
        self.assertContains(page, "Chrome 131 on Mac OS X 10.15")
        self.assertContains(page, "Mobile Safari 17 on iOS 17.5")
        self.assertContains(page, "This browser", count=1)
        # The current session has no "End" button; the other one has, named by its public id.
        self.assertContains(page, "End this session", count=1)
        self.assertContains(page, f'value="{self.public_id(phone)}"')
        self.assertNotContains(page, f'value="{self.public_id(laptop)}"')
        # Session keys are bearer credentials: never on the page.
        for client in (laptop, phone):
            self.assertNotContains(page, client.session.session_key)
        self.assertContains(page, "Sign out everywhere else")

    def test_a_single_session_offers_no_sign_out_everywhere_else(self):
        laptop = self.browser(OSLO_2, LAPTOP)
        page = laptop.get(SECURITY)
        self.assertContains(page, 'data-testid="session"', count=1)
        self.assertNotContains(page, "Sign out everywhere else")

    def test_idle_sessions_are_not_listed(self):
        laptop = self.browser(OSLO_2, LAPTOP)
        phone = self.browser(SAO_PAULO, PHONE)
        UserSession.objects.filter(session_key=phone.session.session_key).update(
            last_seen=timezone.now() - timedelta(hours=2)
        )
        self.assertContains(laptop.get(SECURITY), 'data-testid="session"', count=1)


class SessionEndTests(PasswordOnlyTestCase):
    def test_ending_the_other_session_signs_that_browser_out(self):
        laptop = self.browser(OSLO_2, LAPTOP)
        phone = self.browser(SAO_PAULO, PHONE)
        with self.assertLogs("authsite.events", "INFO") as logs:
            response = laptop.post(END, {"session": self.public_id(phone)})
        self.assertRedirects(response, SECURITY + "#sessions", fetch_redirect_response=False)
        self.assertTrue(any("authn_session_ended" in line for line in logs.output))
        self.assertRedirects(phone.get(SECURITY), f"/login/?next={SECURITY}", fetch_redirect_response=False)
        self.assertFalse(signed_in(phone))
        self.assertEqual(laptop.get(SECURITY).status_code, 200)
        self.assertContains(laptop.get(SECURITY), 'data-testid="session"', count=1)

    def test_cannot_end_another_users_session(self):
        bob = make_user("bob@example.com")
        laptop = self.browser(OSLO_2, LAPTOP)
        bobs = self.browser(SAO_PAULO, PHONE, user=bob)
        response = laptop.post(END, {"session": self.public_id(bobs)}, follow=True)
        self.assertContains(response, "That session is not active")
        self.assertEqual(bobs.get(SECURITY).status_code, 200)
        self.assertTrue(UserSession.objects.filter(session_key=bobs.session.session_key).exists())

    def test_end_cannot_target_the_current_session(self):
        laptop = self.browser(OSLO_2, LAPTOP)
        response = laptop.post(END, {"session": self.public_id(laptop)}, follow=True)
        self.assertContains(response, "That session is not active")
        self.assertEqual(laptop.get(SECURITY).status_code, 200)

    def test_unknown_or_missing_session_is_refused(self):
        laptop = self.browser(OSLO_2, LAPTOP)
        for data in ({}, {"session": "nope"}, {"session": "0" * 32}):
            self.assertContains(laptop.post(END, data, follow=True), "That session is not active")

    def test_sign_out_everywhere_else_keeps_only_this_session(self):
        bob = make_user("bob@example.com")
        laptop = self.browser(OSLO_2, LAPTOP)
        phone = self.browser(SAO_PAULO, PHONE)
        tablet = self.browser(OSLO_2, PHONE)
        bobs = self.browser(SAO_PAULO, PHONE, user=bob)
        response = laptop.post(END_OTHERS, follow=True)
        self.assertContains(response, "Signed out 2 other sessions.")
        self.assertEqual(laptop.get(SECURITY).status_code, 200)
        for client in (phone, tablet):
            self.assertEqual(client.get(SECURITY).status_code, 302)
        self.assertEqual(bobs.get(SECURITY).status_code, 200)
        self.assertEqual(UserSession.objects.filter(user_id=self.user.pk).count(), 1)

    def test_session_controls_need_a_signed_in_user_and_post(self):
        anonymous = Client()
        for url in (END, END_OTHERS, NOT_ME):
            response = anonymous.post(url)
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response["Location"].startswith("/login/"))
        laptop = self.browser(OSLO_2, LAPTOP)
        for url in (END, END_OTHERS, NOT_ME):
            self.assertEqual(laptop.get(url).status_code, 405)

    def test_posts_need_a_csrf_token(self):
        client = Client(enforce_csrf_checks=True, REMOTE_ADDR=OSLO_2, HTTP_USER_AGENT=LAPTOP)
        client.force_login(self.user)
        other = self.browser(SAO_PAULO, PHONE)
        event = LoginEvent.objects.create(
            created_at=timezone.now(), user=self.user, ip=SAO_PAULO, mode="adaptive", decision="allow"
        )
        for url, data in ((END, {"session": self.public_id(other)}), (END_OTHERS, {}), (NOT_ME, {"event": event.pk})):
            self.assertEqual(client.post(url, data).status_code, 403, url)
        self.assertTrue(signed_in(other))
        self.assertTrue(signed_in(client))


class RecentSignInTests(PasswordOnlyTestCase):
    def test_sign_ins_show_place_device_decision_reasons_and_outcome(self):
        make_login_event(self.user, minutes_ago=90)
        make_login_event(
            self.user,
            minutes_ago=5,
            ip="198.51.100.7",
            country="BR",
            city="Sao Paulo",
            browser="Mobile Safari 17",
            os="iOS 17.5",
            decision="challenge_strong",
            reasons=[
                {"code": "new_country", "text": "This sign-in is from a country you have not signed in from"},
                {"code": "new_device", "text": "We don't recognise this device"},
                # What reassured the engine is no reason for asking more: not listed.
                {"code": "known_device", "text": "You have signed in from this device before", "weight": -2.0},
            ],
            outcome=LoginEvent.Outcome.PENDING,
        )
        make_login_event(
            self.user, decision="deny", outcome=LoginEvent.Outcome.DENIED, reasons=[{"code": "x", "text": "Too risky"}]
        )
        make_login_event(make_user("bob@example.com"), city="Bobville")
        client = self.browser(OSLO_2, LAPTOP)
        page = client.get(ACTIVITY)
        self.assertEqual(page.status_code, 200)
        # Three made here and the password sign-in just now (which has no risk event: no stages).
        self.assertContains(page, 'data-testid="sign-in"', count=3)
        self.assertNotContains(page, "Bobville")
        self.assertContains(page, "Sao Paulo, BR · Mobile Safari 17 on iOS 17.5")
        self.assertContains(page, "Asked for a strong second step")
        self.assertContains(page, "This sign-in is from a country you have not signed in from")
        self.assertContains(page, "We don&#x27;t recognise this device")
        self.assertNotContains(page, "You have signed in from this device before")
        self.assertContains(page, "Second step not finished")
        self.assertContains(page, "Password only")
        self.assertContains(page, "Refused")
        self.assertContains(page, "Too risky")
        self.assertContains(page, "<summary>This wasn't me</summary>", count=3)
        self.assertEqual(page["Cache-Control"].count("no-cache") + page["Cache-Control"].count("no-store"), 2)

    def test_only_the_last_twenty_are_shown_newest_first(self):
        for i in range(25):
            make_login_event(self.user, minutes_ago=i, city=f"Town{i:02d}")
        page = self.browser(OSLO_2, LAPTOP).get(ACTIVITY).content.decode()
        self.assertEqual(page.count('data-testid="sign-in"'), 20)
        self.assertLess(page.index("Town00"), page.index("Town19"))
        self.assertNotIn("Town20", page)

    def test_the_security_page_links_to_recent_sign_ins(self):
        self.assertContains(self.browser(OSLO_2, LAPTOP).get(SECURITY), f'href="{ACTIVITY}"')

    def test_a_real_challenged_sign_in_shows_why(self):
        override = override_settings(LOGIN_STAGES=SHIPPED_STAGES)
        override.enable()
        self.addCleanup(override.disable)
        self.learn_history()
        phone = self.client_for(OSLO_2, PHONE)
        self.sign_in(phone)
        self.pass_totp(phone, step=1)
        page = phone.get(ACTIVITY)
        self.assertContains(page, "Asked for a second step")
        # Two reason codes (a new browser to the model, an unknown device cookie) share this text: once.
        codes = {r["code"] for r in LoginEvent.objects.filter(user=self.user).latest("created_at").reasons}
        self.assertLessEqual({"new_device", "unknown_device"}, codes)
        self.assertContains(page, "We don&#x27;t recognise this device", count=1)
        self.assertContains(page, "Oslo, NO · Mobile Safari 17 on iOS 17.5")
        self.assertContains(page, "(confirmed with authenticator app)")


class PasskeySignInRowTests(PasskeyUserTestCase):
    """A passkey sign-in involved no password: the activity page must not say it did."""

    def test_a_passkey_sign_in_is_labelled_as_one(self):
        self.passkey_sign_in()
        event = LoginEvent.objects.get(user=self.user)
        self.assertEqual((event.method, event.factor), ("passkey", "webauthn"))
        # An earlier sign-in with the password and the same passkey as the second step, for contrast.
        make_login_event(self.user, minutes_ago=60, decision="challenge", factor="webauthn")
        page = self.client.get(ACTIVITY)
        rows = re.findall(r'<p class="sign-in-decision">(.*?)</p>', page.content.decode(), re.S)
        self.assertEqual(
            [" ".join(re.sub(r"<[^>]+>", "", row).split()) for row in rows],
            ["Passkey instead of a password", "Asked for a second step (confirmed with passkey or security key)"],
        )
        self.assertNotContains(page, "Password only")
        self.assertNotContains(page, "entered your password")
        self.assertContains(page, "with your password or a passkey")


class NotMeTests(RiskFlowTestCase):
    def test_this_wasnt_me_ends_every_session_forgets_devices_and_mails_a_reset_link(self):
        self.learn_history()
        laptop = self.client_for(OSLO_2, LAPTOP, DEVICE)
        self.sign_in(laptop)
        # A new phone in the same city: asked for the app code, then remembered.
        phone = self.client_for(OSLO_2, PHONE)
        self.sign_in(phone)
        self.pass_totp(phone, step=1, remember=True)
        self.assertTrue(signed_in(laptop) and signed_in(phone))
        self.assertEqual(TrustedDevice.objects.filter(user=self.user, revoked_at__isnull=True).count(), 1)
        suspicious = self.last_event()
        self.assertEqual((suspicious.browser, suspicious.outcome), ("Mobile Safari 17", "success"))
        mail.outbox.clear()

        with self.assertLogs("authsite.events", "INFO") as logs:
            response = laptop.post(NOT_ME, {"event": suspicious.pk})
        self.assertRedirects(response, "/account/activity/not-me/done/")
        self.assertTrue(any("authn_report_not_me" in line for line in logs.output))
        self.assertContains(laptop.get("/account/activity/not-me/done/"), "signed out everywhere")

        # Every session ended, the reporting one too.
        self.assertFalse(UserSession.objects.filter(user_id=self.user.pk).exists())
        self.assertFalse(signed_in(laptop))
        self.assertEqual(phone.get(SECURITY).status_code, 302)
        self.assertEqual(laptop.get(SECURITY).status_code, 302)
        self.assertFalse(TrustedDevice.objects.filter(user=self.user, revoked_at__isnull=True).exists())

        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, [self.user.email])
        self.assertIn("signed you out everywhere", message.subject)
        self.assertIn("Oslo, NO", message.body)
        self.assertIn("Mobile Safari 17 on iOS 17.5", message.body)
        self.assertIn("http://testserver/account/security/", message.body)
        link = re.search(r"http://testserver(/password/reset/\S+/)", message.body).group(1)
        form = Client().get(link, follow=True)
        self.assertContains(form, 'name="new_password1"')

        # Whoever it was still has the password and that phone's cookies, but the phone is a
        # stranger again: the second factor is asked, as the email says.
        again = self.sign_in(phone)
        self.assertRedirects(again, "/login/verify/", fetch_redirect_response=False)
        self.assertNotIn("known_device", [r["code"] for r in self.last_event().reasons])
        self.assertFalse(signed_in(phone))
        self.assertIn("a sign-in from there asks for your second step again", message.body)
        # The laptop the owner uses is still known.
        self.assertRedirects(self.sign_in(laptop), "/", fetch_redirect_response=False)

    def test_another_users_sign_in_cannot_be_reported(self):
        bob = make_user("bob@example.com")
        bobs_event = make_login_event(bob)
        client = Client()
        client.force_login(self.user)
        response = client.post(NOT_ME, {"event": bobs_event.pk}, follow=True)
        self.assertContains(response, "We couldn&#x27;t find that sign-in.")
        self.assertTrue(signed_in(client))
        self.assertEqual(mail.outbox, [])
        for bad in ("", "abc", "999999"):
            self.assertContains(client.post(NOT_ME, {"event": bad}, follow=True), "We couldn&#x27;t find")
