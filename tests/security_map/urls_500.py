"""A URLconf with one view that raises, to see the production 500 page."""

from django.urls import include, path


def boom(request):
    raise RuntimeError("secret-internal-detail in a traceback")


urlpatterns = [path("boom/", boom), path("", include("authsite.urls"))]
