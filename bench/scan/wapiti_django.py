"""Run the installed wapiti with Django's CSRF form field added to its list of token names.

Wapiti's csrf module only tests a form's anti-CSRF token when the field has one of a fixed list of
names; any other form is reported as "Lack of anti CSRF token" without being tested. Django's field
is always ``csrfmiddlewaretoken`` (not configurable). Wapiti added that name upstream in January
2022 (wapiti-scanner/wapiti pull request 230); Debian 12 ships 3.0.4, released before, without it.

With the name known, the module runs its real checks on every form: it resubmits the form with the
token replaced by "wapiti" and reports a medium finding ("not properly checked in backend") unless
the response differs from the one to the untouched form, and it reports a weak token below 8
characters or 3 bits of entropy per character.

One more change makes the "properly checked" test able to fail on Django: wapiti counts two
responses as different when their bodies differ, but Django masks the token differently on every
page it renders, so the bodies always differ and a site with CSRF protection switched off would
pass. Here two responses are the same when their status codes are; Django refuses a bad token with
403 whatever the view would have answered. (Checked both ways: with ``CsrfViewMiddleware`` removed
from ``MIDDLEWARE`` the scan reports every form; with it, none.)

Run with the interpreter wapiti is installed under (``/usr/bin/python3`` for the Debian package);
all arguments go to wapiti.
"""

import sys

from wapitiCore.attack import mod_csrf
from wapitiCore.main.wapiti import wapiti_main

DJANGO_CSRF_FIELD = "csrfmiddlewaretoken"


def same_status(original_response, mutated_response):
    """Whether the form answered the forged token as it answered the real one."""
    return original_response.status == mutated_response.status


def main():
    names = mod_csrf.mod_csrf.TOKEN_FORM_STRINGS
    if DJANGO_CSRF_FIELD not in names:
        mod_csrf.mod_csrf.TOKEN_FORM_STRINGS = [*names, DJANGO_CSRF_FIELD]
    mod_csrf.mod_csrf.is_same_response = staticmethod(same_status)
    print(f"csrf module token names: {', '.join(mod_csrf.mod_csrf.TOKEN_FORM_STRINGS)}", flush=True)
    return wapiti_main()


if __name__ == "__main__":
    sys.exit(main())
