from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from authsite.accounts import views
from authsite.center import activity as center
from authsite.center.demo import demo_view
from authsite.center.remembered import trusted_device_revoke_view
from authsite.center.security import app_revoke_view, security_view
from authsite.oidc import urls as oidc_urls
from factors import urls as factors_urls

# The Security page shows factors, sessions and remembered devices, so it lives in the center; its
# name stays in the factors namespace, where every link already points.
FACTORS_PATTERNS = [*factors_urls.urlpatterns, path("account/security/", security_view, name="security")]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("language/", views.set_language_view, name="set_language"),
    # The translations static/js/webauthn.js uses (gettext), as a script of this origin (CSP).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    path("login/rtt/", views.login_rtt_probe_view, name="login_rtt"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup_view, name="signup"),
    path("signup/done/", views.signup_done_view, name="signup_done"),
    path("signup/activate/<str:token>/", views.activate_view, name="activate"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", views.password_change_done_view, name="password_change_done"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("account/reauthenticate/", views.reauthenticate_view, name="reauthenticate"),
    path(
        "", include(([*factors_urls.urlpatterns, path("account/security/", security_view, name="security")], "factors"))
    ),
    path("", include((center.urlpatterns, "center"))),
    path("account/security/devices/forget/", trusted_device_revoke_view, name="trusted_device_revoke"),
    path("account/security/apps/revoke/", app_revoke_view, name="app_revoke"),
    path("admin/", admin.site.urls),
    # The OpenID Connect provider (authsite.oidc): its endpoints under /o/, discovery at the root.
    path("o/", include((oidc_urls.urlpatterns, "oauth2_provider"))),
    *oidc_urls.well_known_patterns,
    # Development only: the view answers 404 unless DEBUG is on.
    path("demo/", demo_view, name="demo"),
]

handler500 = "authsite.accounts.views.server_error"
