"""ASVS 6.2.6/6.2.7 in a real browser: masked password fields that accept a paste [B]."""

from __future__ import annotations

from tests.browser.base import BrowserTestCase

PASTE = """([selector, text]) => {
    const field = document.querySelector(selector);
    field.focus();
    const data = new DataTransfer();
    data.setData("text/plain", text);
    const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
    const allowed = field.dispatchEvent(event);
    if (allowed) document.execCommand("insertText", false, text);
    return allowed;
}"""


class PasteBrowserTests(BrowserTestCase):
    def test_password_fields_accept_a_paste_and_carry_autocomplete_tokens(self):
        for path, token in (("/login/", "current-password"), ("/signup/", "new-password")):
            with self.subTest(path=path):
                self.page.goto(self.url(path))
                field = self.page.locator("input[type=password]").first
                self.assertEqual(field.get_attribute("autocomplete"), token)
                self.assertTrue(self.page.evaluate(PASTE, ["input[type=password]", "pasted passphrase 1"]))
                self.assertEqual(field.input_value(), "pasted passphrase 1")
