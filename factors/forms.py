"""Forms of the factor pages (parsing only)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from authsite.accounts.forms import AccessibleFormMixin


class CodeForm(AccessibleFormMixin, forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "off",
                "spellcheck": "false",
                # Typing the code is what every page with this form is for.
                "autofocus": True,
            }
        ),
    )

    def __init__(self, *args, label: str = "Code", numeric: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].label = label
        if not numeric:
            self.fields["code"].widget.attrs["inputmode"] = "text"
            self.fields["code"].widget.attrs["autocomplete"] = "off"

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split())


class PhoneForm(AccessibleFormMixin, forms.Form):
    phone_number = forms.CharField(
        label=_("Mobile number, with country code"),
        max_length=32,
        help_text=_("For example +47 912 34 567."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True}),
    )


class RenameForm(AccessibleFormMixin, forms.Form):
    device = forms.CharField(max_length=80, widget=forms.HiddenInput)
    name = forms.CharField(label=_("New name"), max_length=64)


class DeviceForm(forms.Form):
    device = forms.CharField(max_length=80)
