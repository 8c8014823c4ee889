from django.urls import path

from tests.oidc_rp import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("callback/", views.callback, name="callback"),
    path("userinfo/", views.userinfo, name="userinfo"),
    path("logout/", views.logout, name="logout"),
    path("logged-out/", views.logged_out, name="logged_out"),
    path("backchannel-logout/", views.backchannel_logout, name="backchannel_logout"),
]
