from django.urls import path

from factors import stepup
from factors.views import challenge, enroll, passkey, security

app_name = "factors"

urlpatterns = [
    path("login/verify/", challenge.challenge_view, name="challenge"),
    path("login/verify/webauthn/begin/", challenge.challenge_webauthn_begin, name="challenge_webauthn_begin"),
    path("login/verify/webauthn/complete/", challenge.challenge_webauthn_complete, name="challenge_webauthn_complete"),
    path("login/enroll/", enroll.enroll_view, name="enroll"),
    path("login/enroll/totp/begin/", enroll.enroll_totp_begin, name="enroll_totp_begin"),
    path("login/enroll/totp/", enroll.enroll_totp_confirm, name="enroll_totp"),
    path("login/enroll/webauthn/begin/", enroll.enroll_webauthn_begin, name="enroll_webauthn_begin"),
    path("login/enroll/webauthn/complete/", enroll.enroll_webauthn_complete, name="enroll_webauthn_complete"),
    path("login/passkey/begin/", passkey.passkey_login_begin, name="passkey_begin"),
    path("login/passkey/complete/", passkey.passkey_login_complete, name="passkey_complete"),
    path("account/setup/", security.setup_view, name="setup"),
    path("account/reauthenticate/factor/", stepup.stepup_view, name="stepup"),
    path("account/reauthenticate/admin/", stepup.stepup_admin_view, name="stepup_admin"),
    path("account/reauthenticate/factor/webauthn/begin/", stepup.stepup_webauthn_begin, name="stepup_webauthn_begin"),
    path(
        "account/reauthenticate/factor/webauthn/complete/",
        stepup.stepup_webauthn_complete,
        name="stepup_webauthn_complete",
    ),
    path("account/security/totp/", security.totp_begin, name="totp_begin"),
    path("account/security/totp/confirm/", security.totp_confirm, name="totp_confirm"),
    path("account/security/email/", security.email_begin, name="email_begin"),
    path("account/security/sms/", security.sms_begin, name="sms_begin"),
    path("account/security/code/confirm/", security.code_confirm, name="code_confirm"),
    path("account/security/recovery/", security.recovery_generate, name="recovery_generate"),
    path("account/security/rename/", security.factor_rename_view, name="rename"),
    path("account/security/remove/", security.factor_remove_view, name="remove"),
    path("account/security/preferred/", security.factor_preferred_view, name="preferred"),
    path("account/security/webauthn/begin/", security.webauthn_register_begin, name="webauthn_register_begin"),
    path("account/security/webauthn/complete/", security.webauthn_register_complete, name="webauthn_register_complete"),
]
