from django.urls import path

from factors import stepup, views

app_name = "factors"

urlpatterns = [
    path("login/verify/", views.challenge_view, name="challenge"),
    path("login/verify/webauthn/begin/", views.challenge_webauthn_begin, name="challenge_webauthn_begin"),
    path("login/verify/webauthn/complete/", views.challenge_webauthn_complete, name="challenge_webauthn_complete"),
    path("login/enrol/", views.enrol_view, name="enrol"),
    path("login/enrol/totp/begin/", views.enrol_totp_begin, name="enrol_totp_begin"),
    path("login/enrol/totp/", views.enrol_totp_confirm, name="enrol_totp"),
    path("login/enrol/webauthn/begin/", views.enrol_webauthn_begin, name="enrol_webauthn_begin"),
    path("login/enrol/webauthn/complete/", views.enrol_webauthn_complete, name="enrol_webauthn_complete"),
    path("login/passkey/begin/", views.passkey_login_begin, name="passkey_begin"),
    path("login/passkey/complete/", views.passkey_login_complete, name="passkey_complete"),
    path("account/setup/", views.setup_view, name="setup"),
    path("account/reauthenticate/factor/", stepup.stepup_view, name="stepup"),
    path("account/reauthenticate/admin/", stepup.stepup_admin_view, name="stepup_admin"),
    path("account/reauthenticate/factor/webauthn/begin/", stepup.stepup_webauthn_begin, name="stepup_webauthn_begin"),
    path(
        "account/reauthenticate/factor/webauthn/complete/",
        stepup.stepup_webauthn_complete,
        name="stepup_webauthn_complete",
    ),
    path("account/security/totp/", views.totp_begin, name="totp_begin"),
    path("account/security/totp/confirm/", views.totp_confirm, name="totp_confirm"),
    path("account/security/email/", views.email_begin, name="email_begin"),
    path("account/security/sms/", views.sms_begin, name="sms_begin"),
    path("account/security/code/confirm/", views.code_confirm, name="code_confirm"),
    path("account/security/recovery/", views.recovery_generate, name="recovery_generate"),
    path("account/security/rename/", views.factor_rename_view, name="rename"),
    path("account/security/remove/", views.factor_remove_view, name="remove"),
    path("account/security/preferred/", views.factor_preferred_view, name="preferred"),
    path("account/security/webauthn/begin/", views.webauthn_register_begin, name="webauthn_register_begin"),
    path("account/security/webauthn/complete/", views.webauthn_register_complete, name="webauthn_register_complete"),
]
