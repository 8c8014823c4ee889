"""Layout checks in a real browser: nothing scrolls sideways on a phone, recovery codes stay whole."""

from __future__ import annotations

from django.utils import timezone

from factors import services
from tests.browser.base import BrowserTestCase
from tests.helpers import make_user

PHONE = {"width": 390, "height": 844}


class AccountLayoutBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user("lena@example.com")
        totp = services.factor_enroll_totp_begin(user=self.user, name="Authenticator on a very long-named phone")
        totp.device.confirmed = True
        totp.device.last_used_at = timezone.now()
        totp.device.save()
        self.sign_in_verified(self.user, just_now=True)  # adds an email-code factor: two rows on the Security page
        self.console_errors: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        self.failed: list[str] = []
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def code_boxes(self) -> list[dict]:
        """Each recovery code's line boxes and bounding box, and its line height."""
        return self.page.eval_on_selector_all(
            "[data-testid=recovery-codes] code",
            """els => els.map(el => { const r = el.getBoundingClientRect();
                return {lines: el.getClientRects().length, left: r.left, right: r.right, top: r.top,
                        bottom: r.bottom, height: r.height,
                        lineHeight: parseFloat(getComputedStyle(el.parentElement).lineHeight)}; })""",
        )

    def assert_codes_whole_and_apart(self, boxes: list[dict]) -> None:
        self.assertEqual(len(boxes), 10)
        for box in boxes:
            self.assertEqual(box["lines"], 1, f"a code breaks across lines: {box}")
            self.assertLessEqual(box["height"], box["lineHeight"] + 1, box)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                apart = a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"]
                self.assertTrue(apart or b["bottom"] <= a["top"], f"codes overlap: {a} {b}")

    def test_security_page_and_recovery_codes_fit_a_phone(self):
        page = self.page
        page.set_viewport_size(PHONE)
        page.goto(self.url("/account/security/"))
        rows = page.locator("[data-testid=factor-row]")
        self.assertEqual(rows.count(), 2)
        self.assert_no_horizontal_scroll()
        rows.first.get_by_text("Manage").click()
        self.assertTrue(rows.first.get_by_role("button", name="Rename").is_visible())
        self.assert_no_horizontal_scroll()
        self.assert_every_input_has_a_visible_label()
        self.screenshot("security-manage-mobile")

        page.get_by_role("button", name="Make recovery codes").click()
        page.wait_for_url("**/account/security/recovery/")
        self.assert_no_horizontal_scroll()
        boxes = self.code_boxes()
        self.assert_codes_whole_and_apart(boxes)
        self.assertEqual({round(b["left"]) for b in boxes}, {round(boxes[0]["left"])}, "one column on a phone")
        self.screenshot("recovery-codes-mobile")

        # On a wide screen the codes take two columns, with room for the numbers between them.
        page.set_viewport_size({"width": 1100, "height": 800})
        boxes = self.code_boxes()
        self.assert_codes_whole_and_apart(boxes)
        lefts = sorted({round(b["left"]) for b in boxes})
        self.assertEqual(len(lefts), 2, lefts)
        first_column_right = max(b["right"] for b in boxes if round(b["left"]) == lefts[0])
        self.assertGreaterEqual(lefts[1] - first_column_right, 24, "the second column's numbers need room")
        self.assert_no_horizontal_scroll()
        self.screenshot("recovery-codes")
        self.assertEqual(self.failed, [])
        self.assertEqual(self.console_errors, [])

    def test_security_page_on_a_desktop_keeps_the_table(self):
        page = self.page
        page.goto(self.url("/account/security/"))
        self.assertEqual(page.eval_on_selector("table.factors", "el => getComputedStyle(el).display"), "table")
        page.locator("[data-testid=factor-row]").first.get_by_text("Manage").click()
        self.assert_no_horizontal_scroll()
        self.screenshot("security-factors")

    def test_the_site_icon_is_served_and_no_request_fails(self):
        page = self.page
        page.goto(self.url("/"))
        href = page.get_attribute("link[rel=icon]", "href")
        self.assertTrue(href.endswith(".svg"), href)
        response = page.request.get(self.url(href) if href.startswith("/") else href)
        self.assertEqual(response.status, 200)
        self.assertIn("<svg", response.text())
        page.goto(self.url("/account/setup/"))
        page.wait_for_load_state("networkidle")
        self.assertEqual(self.failed, [])
        self.assertEqual(self.console_errors, [])

    def test_setup_page_name_field_and_button_do_not_touch(self):
        page = self.page
        for viewport in (PHONE, {"width": 1100, "height": 800}):
            page.set_viewport_size(viewport)
            page.goto(self.url("/account/setup/"))
            field = page.get_by_label("Name for this passkey").bounding_box()
            button = page.get_by_role("button", name="Add a passkey").bounding_box()
            self.assertGreaterEqual(button["y"] - (field["y"] + field["height"]), 12, viewport)
            self.assert_no_horizontal_scroll()


class LapsedCheckBrowserTests(BrowserTestCase):
    def test_adding_a_passkey_after_the_password_check_lapsed_goes_to_confirm_it(self):
        user = make_user("omar@example.com")
        self.sign_in_verified(user)  # signed in, but no recent password or factor check
        page = self.page
        page.goto(self.url("/account/security/"))
        page.get_by_role("button", name="Add a passkey").click()
        page.wait_for_url("**/account/reauthenticate/**")
        self.assertIn("Confirm it", page.text_content("h1"))
        self.assert_every_input_has_a_visible_label()
