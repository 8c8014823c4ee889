"""Which scopes a client may ask for: the site's scopes it was registered with."""

from __future__ import annotations

from oauth2_provider.scopes import SettingsScopes


class ClientScopes(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        scopes = super().get_available_scopes(application, request, *args, **kwargs)
        if application is None:
            return scopes
        return [s for s in scopes if s in application.scopes]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return ["openid"]
