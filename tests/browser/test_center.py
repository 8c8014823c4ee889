"""The Security center in a real browser: sessions, recent sign-ins and the "This wasn't me" path."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.core import mail
from django.utils import timezone

from authsite.accounts.middleware import SESSION_AUTH_AT, SESSION_SEEN_AT
from authsite.accounts.sessions import SESSION_IP, SESSION_UA, SessionStore
from authsite.accounts.sessions_models import UserSession
from tests.browser.base import BrowserTestCase
from tests.helpers import PASSWORD, links_on, make_login_event, make_user

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


class SecurityCenterBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.use_demo_site()
        self.user = make_user("hana@example.com")
        now = timezone.now()
        # Someone else, on a phone in Sao Paulo, signed in twenty minutes ago and is still active.
        other = SessionStore()
        other[SESSION_KEY] = str(self.user.pk)
        other[HASH_SESSION_KEY] = self.user.get_session_auth_hash()
        other[SESSION_IP] = "198.51.100.7"
        other[SESSION_UA] = IPHONE
        other[SESSION_AUTH_AT] = other[SESSION_SEEN_AT] = (now - timedelta(minutes=20)).timestamp()
        other.save()
        self.other_key = other.session_key
        UserSession.objects.filter(pk=other.session_key).update(last_seen=now - timedelta(minutes=7))
        make_login_event(self.user, minutes_ago=2 * 24 * 60, browser="Chrome 156", os="Linux")
        self.suspicious = make_login_event(
            self.user,
            minutes_ago=20,
            ip="198.51.100.7",
            country="BR",
            city="Sao Paulo",
            browser="Mobile Safari 17",
            os="iOS 17.5",
            decision="challenge",
            reasons=[
                {"code": "new_device", "text": "We don't recognise this device"},
                {"code": "new_country", "text": "This sign-in is from a new country"},
            ],
            factor="email",
        )

    def sign_in_from_oslo(self) -> None:
        page = self.page
        page.goto(self.url("/demo/"))
        page.get_by_label("Oslo, Norway (home broadband)").check()
        page.get_by_role("button", name="Use this place").click()
        page.goto(self.url("/login/"))
        page.get_by_label("Email address").fill(self.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(self.url("/"))

    def test_sessions_and_sign_ins_then_this_wasnt_me(self):
        links_on(self, self.live_server_url)
        page = self.page
        self.sign_in_from_oslo()

        page.goto(self.url("/account/security/"))
        self.assert_every_input_has_a_visible_label()
        sessions = page.locator("[data-testid=session]")
        self.assertEqual(sessions.count(), 2)
        current = sessions.filter(has_text="This browser")
        self.assertIn("Near Oslo, NO", current.text_content())
        self.assertEqual(current.get_by_role("button", name="End this session").count(), 0)
        other = sessions.filter(has_text="Sao Paulo")
        self.assertIn("Mobile Safari 17 on iOS 17.5", other.text_content())
        self.assertIn("last active 7", other.text_content())
        self.assertEqual(other.get_by_role("button", name="End this session").count(), 1)
        self.assertTrue(page.get_by_role("button", name="Sign out everywhere else").is_visible())
        page.locator("#sessions").scroll_into_view_if_needed()
        self.screenshot("security-center")

        page.get_by_role("link", name="Review recent sign-ins").click()
        page.wait_for_url("**/account/activity/")
        rows = page.locator("[data-testid=sign-in]")
        # The sign-in just made (first for this account, allowed) and the two seeded ones.
        self.assertEqual(rows.count(), 3)
        suspicious = rows.filter(has_text="Sao Paulo")
        self.assertIn("Asked for a second step", suspicious.text_content())
        self.assertIn("This sign-in is from a new country", suspicious.text_content())
        self.assertIn("confirmed with email code", suspicious.text_content())
        suspicious.locator("summary", has_text="This wasn't me").click()
        button = suspicious.get_by_role("button", name="Sign out everywhere and reset my password")
        self.assertTrue(button.is_visible())
        self.assert_every_input_has_a_visible_label()
        self.screenshot("security-center-activity")
        button.click()

        page.wait_for_url("**/account/activity/not-me/done/")
        self.assertIn("signed out everywhere", page.text_content("h1"))
        self.screenshot("security-center-not-me")
        self.assertFalse(UserSession.objects.filter(user_id=self.user.pk).exists())
        self.assertFalse(SessionStore().exists(self.other_key))
        self.assertEqual(page.locator("[data-testid=signed-in-as]").count(), 0)

        message = mail.outbox[-1]
        self.assertIn("signed you out everywhere", message.subject)
        self.assertIn("Sao Paulo, BR", message.body)
        link = re.search(r"(http://\S+/password/reset/\S+/)", message.body).group(1)
        page.goto(link)
        self.assert_every_input_has_a_visible_label()
        page.get_by_label("New password", exact=True).fill("a brand new passphrase")
        page.get_by_label("New password again").fill("a brand new passphrase")
        page.get_by_role("button", name=re.compile("password", re.I)).click()
        page.wait_for_url("**/password/reset/complete/")
        self.user.refresh_from_db()
        self.assertTrue(self.user.check_password("a brand new passphrase"))
