"""The provider's addresses. The names are django-oauth-toolkit's (namespace ``oauth2_provider``),
which it reverses itself."""

from django.urls import path
from oauth2_provider import views as dot_views

from authsite.oidc import views

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("userinfo/", dot_views.UserInfoView.as_view(), name="user-info"),
    path("jwks/", views.jwks_view, name="jwks-info"),
    path("logout/", views.EndSessionView.as_view(), name="rp-initiated-logout"),
]

# Served at the site's root: the issuer is SITE_URL, so discovery is at
# {SITE_URL}/.well-known/openid-configuration (OpenID Connect Discovery 1.0, section 4).
well_known_patterns = [
    path(".well-known/openid-configuration", views.discovery_view, name="oidc-connect-discovery-info"),
]
