"""WSGI entry point of the test relying party (``gunicorn tests.oidc_rp.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_rp.settings")
application = get_wsgi_application()
