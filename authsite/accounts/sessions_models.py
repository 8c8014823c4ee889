"""The session table: Django's database session plus who it belongs to and where it came from.

Imported by ``authsite.accounts.models`` so that the model belongs to the accounts app.
"""

from __future__ import annotations

from django.contrib.sessions.base_session import AbstractBaseSession, BaseSessionManager
from django.db import models


class UserSessionManager(BaseSessionManager):
    use_in_migrations = True


class UserSession(AbstractBaseSession):
    """One browser session; the extra columns let a user list and end their own sessions.

    ``public_id`` is a digest of the session key: pages and forms name a session by it, never by
    the key itself, which is a bearer credential.
    """

    public_id = models.CharField(max_length=32, db_index=True, blank=True)
    user_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, unpack_ipv4=True)
    user_agent = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="When the user signed in")
    last_seen = models.DateTimeField(null=True, blank=True)

    objects = UserSessionManager()

    class Meta(AbstractBaseSession.Meta):
        app_label = "accounts"
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        from authsite.accounts.sessions import SessionStore

        return SessionStore
