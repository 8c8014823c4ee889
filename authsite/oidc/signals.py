"""Receivers: a session that ends tells the clients it signed in to (back-channel logout)."""

from __future__ import annotations

import logging

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from authsite.oidc import services

logger = logging.getLogger("authsite.oidc")


@receiver(user_logged_out, dispatch_uid="oidc_backchannel_logout")
def _session_ended(sender, request, user, **kwargs) -> None:
    if request is None or user is None:
        return
    sid = request.session.get(services.SESSION_SID)
    if not sid:
        return
    try:
        services.session_ended(request, user=user, sid=sid)
    except Exception:
        # Signing out must never fail because a client could not be told.
        logger.exception("back-channel logout failed", extra={"event": "oidc_backchannel_failed"})
