"""The project settings plus what the integrator adds for the factors app.

Run: ``manage.py test tests.factors --settings tests.factors.settings``. The suite also passes
with plain ``authsite.settings`` (django-otp's models are abstract, so the app need not be
installed for factors to work); this module checks that the documented additions fit.
"""

from authsite.settings import *

INSTALLED_APPS = [*INSTALLED_APPS, "django_otp"]

_auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE = [*MIDDLEWARE[: _auth + 1], "django_otp.middleware.OTPMiddleware", *MIDDLEWARE[_auth + 1 :]]

# In production these come from the environment; see factors/conf.py.
FACTORS_ENCRYPTION_KEYS = ["Zm9yLXRlc3RzLW9ubHktZmFjdG9ycy1rZXktMDAwMDE="]
FACTORS_SMS_BACKEND = "locmem"
