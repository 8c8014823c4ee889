"""Login stages: steps that run after a correct password, in the order of ``LOGIN_STAGES``.

A stage is a class with a unique ``key``. When it becomes the current stage the controller calls
``handle()``: returning None means "nothing to do here" and the next stage runs; returning a
response (usually a redirect to the stage's own page) pauses the login until the stage's view calls
``authsite.login.flow.login_stage_passed``.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from authsite.login.state import PendingLogin


class LoginStage:
    """Base class of a login stage."""

    key: str = ""

    def handle(self, request: HttpRequest, pending: PendingLogin) -> HttpResponse | None:
        """Return a response to pause the login at this stage, or None to pass it."""
        raise NotImplementedError


@functools.cache
def get_login_stages() -> tuple[LoginStage, ...]:
    """Instantiate the stages named in ``LOGIN_STAGES`` (cached until the setting changes)."""
    stages: list[LoginStage] = []
    for path in settings.LOGIN_STAGES:
        try:
            cls = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(f"LOGIN_STAGES: cannot import {path!r}: {exc}") from exc
        stage = cls()
        if not isinstance(stage, LoginStage) or not stage.key:
            raise ImproperlyConfigured(f"LOGIN_STAGES: {path!r} is not a LoginStage with a key.")
        stages.append(stage)
    keys = [stage.key for stage in stages]
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(f"LOGIN_STAGES: stage keys must be unique, got {keys}.")
    return tuple(stages)


@receiver(setting_changed)
def _reset_login_stages(*, setting: str, **kwargs: object) -> None:
    if setting == "LOGIN_STAGES":
        get_login_stages.cache_clear()
