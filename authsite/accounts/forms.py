"""Forms: parsing and validation only; the work happens in services and the login flow."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from authsite.core.text import StrOrPromise

TOO_LONG = _("This password is too long. It can have at most %(limit_value)d characters.")


def password_field(label: StrOrPromise, autocomplete: str, *, help_text: StrOrPromise = "") -> forms.CharField:
    """A password input that refuses oversized values before anything hashes them."""
    return forms.CharField(
        label=label,
        strip=False,
        max_length=settings.PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        help_text=help_text,
        error_messages={"max_length": TOO_LONG},
    )


def email_field(field_class: type[forms.CharField] = forms.EmailField, autocomplete: str = "email") -> forms.CharField:
    """The email input of every account form."""
    return field_class(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": autocomplete, "autofocus": True}),
    )


def password_rules() -> StrOrPromise:
    """The password rules in the site's words: the one text under every new-password field."""
    return ngettext_lazy(
        "At least %(count)d character. Long passphrases, spaces and any characters are welcome; "
        "common passwords and your email address are refused.",
        "At least %(count)d characters. Long passphrases, spaces and any characters are welcome; "
        "common passwords and your email address are refused.",
        "count",
    ) % {"count": settings.PASSWORD_MIN_LENGTH}


def new_password_field() -> forms.CharField:
    return password_field(_("New password"), "new-password", help_text=password_rules())


class AccessibleFormMixin:
    """Tie each field's error list to its input (aria-describedby) for screen readers, and put the
    keyboard focus in the first field that has an error when the page comes back."""

    def full_clean(self) -> None:
        super().full_clean()
        self._focus_first_error()
        for name, errors in self.errors.items():
            if name in self.fields and errors:
                widget = self.fields[name].widget
                error_id = f"{self[name].auto_id}_error"
                described = widget.attrs.get("aria-describedby", "")
                if error_id not in described.split():
                    widget.attrs["aria-describedby"] = f"{error_id} {described}".strip()
                widget.attrs["aria-invalid"] = "true"

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        self._focus_first_error()

    def _focus_first_error(self) -> None:
        invalid = [name for name in self.fields if name in (self._errors or {})]
        if not invalid:
            return
        for name, field in self.fields.items():
            if name == invalid[0]:
                field.widget.attrs["autofocus"] = True
            else:
                field.widget.attrs.pop("autofocus", None)


class LoginForm(AccessibleFormMixin, forms.Form):
    # A CharField: the sign-in form says the same thing for any input, valid address or not.
    # "webauthn": the browser offers saved passkeys among the suggestions (passkey autofill,
    # static/js/webauthn.js starts the conditional request).
    email = email_field(forms.CharField, autocomplete="username webauthn")
    password = password_field(_("Password"), "current-password")


class SignupForm(AccessibleFormMixin, forms.Form):
    email = email_field()
    password = password_field(_("Password"), "new-password", help_text=password_rules())

    def clean(self) -> dict:
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            from authsite.accounts.models import User

            try:
                password_validation.validate_password(password, User(email=email))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class ActivateForm(AccessibleFormMixin, forms.Form):
    """Activation asks for the password chosen at sign-up as well as the emailed link.

    The link proves the mailbox; the password proves the person clicking chose the account's
    current password. Without it, someone who signed up again with another's address before
    they activated would have their password confirmed by the owner's click.
    """

    password = password_field(
        _("The password you chose when you signed up"),
        "current-password",
        help_text=_("If you have forgotten it, sign up again with the same address to choose a new one."),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                _(
                    "That is not the password this account was created with. If you have forgotten it, "
                    "sign up again with the same address: we will send a new link."
                )
            )
        return password


class NewPasswordErrorsMixin:
    """Show what the password rules say about a new password under the field where it was typed.

    Django attaches them to "New password again", which reads as if only the repetition were wrong.
    """

    def validate_password_for_user(self, user, *args, **kwargs) -> None:
        super().validate_password_for_user(user, "new_password1")


class PasswordChangeForm(NewPasswordErrorsMixin, AccessibleFormMixin, auth_forms.PasswordChangeForm):
    old_password = password_field(_("Current password"), "current-password")
    new_password1 = new_password_field()
    new_password2 = password_field(_("New password again"), "new-password")


class SetPasswordForm(NewPasswordErrorsMixin, AccessibleFormMixin, auth_forms.SetPasswordForm):
    new_password1 = new_password_field()
    new_password2 = password_field(_("New password again"), "new-password")


class PasswordResetForm(AccessibleFormMixin, auth_forms.PasswordResetForm):
    """Only the address; ``services.account_password_reset_request`` does the work."""

    email = email_field()


class ReauthenticateForm(AccessibleFormMixin, forms.Form):
    password = password_field(_("Password"), "current-password")
