"""Source rules, the production error page, password fields and cookie flags."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from tests.base import BrowserClient as Client
from tests.base import SimpleTestCase
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user
from tests.test_settings import production_env, run_manage

ROOT = Path(settings.BASE_DIR)
# risk/evaluation/simulate.py and world2.py generate synthetic login traces for experiments, and
# train.py shuffles training examples with a seeded PRNG (a reproducible model file); none of them
# authenticates anybody, and the site never imports them (tests/test_architecture.py).
NOT_AUTHENTICATION_CODE = {ROOT / "risk" / "evaluation" / name for name in ("simulate.py", "world2.py", "train.py")}


def imports_random(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(name == "random" or name.startswith("random.") for name in names):
            return True
    return False


class NoRandomModuleTests(SimpleTestCase):
    def test_no_random_module_in_authsite_factors_or_risk(self):
        """ASVS 6.5.3: authentication code draws from `secrets`, never from `random`."""
        files = [
            path
            for package in ("authsite", "factors", "risk")
            for path in (ROOT / package).rglob("*.py")
            if path not in NOT_AUTHENTICATION_CODE
        ]
        self.assertGreater(len(files), 60)
        self.assertEqual([str(p.relative_to(ROOT)) for p in files if imports_random(p)], [])

    def test_the_scan_sees_an_import_of_random(self):
        """The scan itself works: the excluded simulator is the one file that does import it."""
        self.assertTrue(imports_random(ROOT / "risk" / "evaluation" / "simulate.py"))


@override_settings(DEBUG=False, ROOT_URLCONF="tests.security_map.urls_500", ALLOWED_HOSTS=["testserver"])
class ProductionErrorPageTests(SimpleTestCase):
    def test_500_page_shows_no_traceback(self):
        client = Client(raise_request_exception=False)
        with self.assertLogs("django.request", "ERROR"):
            response = client.get("/boom/")
        self.assertEqual(response.status_code, 500)
        body = response.content.decode()
        for leak in ("Traceback", "RuntimeError", "secret-internal-detail", "urls_500", 'File "'):
            self.assertNotIn(leak, body)


class PasswordFieldTests(CacheClearingTestCase):
    """ASVS 6.2.6/6.2.7: masked fields, paste allowed, autocomplete tokens for password managers."""

    def test_every_password_field_is_masked_pasteable_and_has_an_autocomplete_token(self):
        user = make_user()
        anonymous = Client()
        signed_in = Client()
        signed_in.post("/login/", {"email": user.email, "password": PASSWORD})
        pages = {
            "/login/": (anonymous, {"current-password"}),
            "/signup/": (anonymous, {"new-password"}),
            "/password/change/": (signed_in, {"current-password", "new-password"}),
            "/account/reauthenticate/": (signed_in, {"current-password"}),
        }
        for path, (client, tokens) in pages.items():
            with self.subTest(path=path):
                html = client.get(path).content.decode()
                inputs = re.findall(r"<input[^>]*>", html)
                passwords = [tag for tag in inputs if 'type="password"' in tag]
                self.assertTrue(passwords, path)
                for tag in passwords:
                    self.assertRegex(tag, r'autocomplete="(current-password|new-password)"')
                found = {re.search(r'autocomplete="([^"]+)"', tag).group(1) for tag in passwords}
                self.assertEqual(found, tokens)
                self.assertNotRegex(html.lower(), r"on(paste|copy|cut|drop)\s*=")
                self.assertNotIn('autocomplete="off"', html)

    def test_no_script_blocks_paste(self):
        scripts = list((ROOT / "static").rglob("*.js"))
        self.assertTrue(scripts)
        for path in scripts:
            source = path.read_text()
            self.assertNotRegex(source, r"['\"](paste|copy|cut|drop)['\"]|onpaste", str(path))


class CookieFlagTests(CacheClearingTestCase):
    """ASVS 3.3: HttpOnly and SameSite on the session and CSRF cookies."""

    def test_session_and_csrf_cookies_are_httponly_and_samesite_lax(self):
        make_user()
        client = Client()
        client.get("/login/")
        csrf = client.cookies[settings.CSRF_COOKIE_NAME]
        response = client.post(
            "/login/", {"email": "alice@example.com", "password": PASSWORD, "csrfmiddlewaretoken": csrf.value}
        )
        self.assertEqual(response.status_code, 302)
        session = response.cookies[settings.SESSION_COOKIE_NAME]
        for cookie in (session, csrf):
            with self.subTest(cookie=cookie.key):
                self.assertTrue(cookie["httponly"])
                self.assertIn(cookie["samesite"], ("Lax", "Strict"))


class ProductionCookieSettingsTests(SimpleTestCase):
    """ASVS 3.3.1/3.3.3: in production the cookies are Secure and use the __Host- prefix."""

    def test_production_cookies_are_secure_host_prefixed_httponly_and_samesite(self):
        code = (
            "from django.conf import settings as s;"
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME,"
            " s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE)"
        )
        result = run_manage("shell", "--no-imports", "-c", code, env=production_env())
        self.assertEqual(result.returncode, 0, result.stderr)
        expected = ["True", "True", "__Host-sessionid", "__Host-csrftoken", "True", "True", "Lax", "Lax"]
        self.assertEqual(result.stdout.split(), expected)
