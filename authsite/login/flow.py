"""The login controller: password -> stages -> finish.

``login_finish`` is the only code in the project that calls ``django.contrib.auth.login()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.utils.crypto import constant_time_compare

from authsite.accounts.middleware import SESSION_AUTH_AT, SESSION_SEEN_AT
from authsite.accounts.reauth import reauth_mark
from authsite.core import clock, events
from authsite.core.redirects import for_scripts
from authsite.login.facts import AppRequest, LoginFacts
from authsite.login.listeners import notify_login_succeeded
from authsite.login.proof import (
    app_request_clear,
    app_request_for,
    proof_from_facts,
    session_proof,
    session_proof_keep,
)
from authsite.login.stages import get_login_stages
from authsite.login.state import (
    PendingLogin,
    pending_login_clear,
    pending_login_load,
    pending_login_stash,
)

EXPIRED_MESSAGE = "Your sign-in took too long and has expired. Please enter your password again."
MISSING_MESSAGE = "Please sign in first."


def login_begin(
    request: HttpRequest,
    *,
    user,
    backend: str,
    next_url: str,
    facts: LoginFacts | None = None,
    session_data: dict | None = None,
) -> HttpResponse:
    """Start a pending login for ``user`` after a correct password and run its stages."""
    facts = facts if facts is not None else LoginFacts()
    if facts.app is None:
        # An application sent the user here: its demands travel with the sign-in as a fact.
        facts.app = app_request_for(request, next_url)
    # A new session id once the password is known good: a fixated id from before is worthless.
    request.session.cycle_key()
    pending = PendingLogin(
        user_id=user.pk,
        backend=backend,
        started_at=clock.timestamp(),
        next_url=next_url,
        facts=facts,
        session_data=dict(session_data or {}),
        auth_hash=user.get_session_auth_hash(),
    )
    pending.keep_user(user)
    return login_continue(request, pending)


def login_step_up(request: HttpRequest, *, next_url: str, app: AppRequest) -> HttpResponse:
    """Run the stages again for the signed-in user, without the password, to reach ``app.level``.

    The session proved less than an application asks: only what is missing (the second step) is
    asked; ``login_finish`` then adds what it proved to the session's record.
    """
    user = request.user
    backend = request.session.get(auth.BACKEND_SESSION_KEY, "")
    return login_begin(
        request,
        user=user,
        backend=backend,
        next_url=next_url,
        facts=LoginFacts(app=app, step_up=True),
    )


class LoginAborted(HttpResponseRedirect):
    """The redirect of a login that was given up: its pending login is gone for good."""


def login_continue(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    """Run stages from the current one on; finish when none pauses."""
    stages = get_login_stages()
    while pending.stage_index < len(stages):
        response = stages[pending.stage_index].handle(request, pending)
        if response is not None:
            # A stage that pauses keeps the login for later; one that refused it must not
            # have it written back, or a later request could resume it without the password.
            if not isinstance(response, LoginAborted):
                pending_login_stash(request, pending)
            return response
        pending.stage_index += 1
    return login_finish(request, pending)


def login_stage_passed(request: HttpRequest, pending: PendingLogin, key: str) -> HttpResponse:
    """Mark stage ``key`` (the current one) as passed and go on."""
    stages = get_login_stages()
    if pending.stage_index >= len(stages) or stages[pending.stage_index].key != key:
        raise ValueError(f"stage {key!r} is not the current stage")
    pending.stage_index += 1
    return login_continue(request, pending)


def login_abort(request: HttpRequest, message: str) -> HttpResponse:
    """Drop the pending login and send the user back to the password page with ``message``."""
    pending_login_clear(request)
    messages.error(request, message)
    return LoginAborted(resolve_url(settings.LOGIN_URL))


def login_finish(request: HttpRequest, pending: PendingLogin) -> HttpResponse:
    """Sign the user in: the one call to ``auth.login()``, after every stage has passed."""
    user = get_user_model()._default_manager.filter(pk=pending.user_id, is_active=True).first()
    if user is None:
        return login_abort(request, "This account can no longer sign in.")
    if not constant_time_compare(pending.auth_hash, user.get_session_auth_hash()):
        events.auth_event(request, events.LOGIN_FAIL, outcome="password_changed", user_id=user.pk)
        return login_abort(request, "Your password was changed while you were signing in. Sign in with the new one.")
    pending_login_clear(request)
    previous = session_proof(request)
    # auth.login() rotates the session key (the session holds no user yet) and stores the
    # password hash that ends this session when the password changes.
    auth.login(request, user, backend=pending.backend)
    now = clock.timestamp()
    request.session[SESSION_AUTH_AT] = now
    request.session[SESSION_SEEN_AT] = now
    session_proof_keep(request, proof_from_facts(pending.facts, user_id=user.pk, now=now, previous=previous))
    app_request_clear(request)
    if not pending.facts.step_up:
        # A step-up proved a factor, not the password: it is no password re-authentication.
        reauth_mark(request)
    request.session.update(pending.session_data)
    events.auth_event(request, events.LOGIN_SUCCESS, outcome="success", user_id=user.pk)
    response = HttpResponseRedirect(pending.next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    notify_login_succeeded(request, response, user=user, pending=pending)
    return response


def pending_login_required(stage_key: str) -> Callable:
    """Guard a stage view: it runs only while ``stage_key`` is the current stage of a live login.

    The view receives the ``PendingLogin`` as keyword argument ``pending``.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            pending = pending_login_load(request)
            if pending is None:
                messages.info(request, MISSING_MESSAGE)
                return for_scripts(request, redirect(settings.LOGIN_URL), why=MISSING_MESSAGE)
            if pending.is_expired():
                events.auth_event(request, events.LOGIN_EXPIRED, outcome="expired", user_id=pending.user_id)
                return for_scripts(request, login_abort(request, EXPIRED_MESSAGE), why=EXPIRED_MESSAGE)
            stages = get_login_stages()
            if pending.stage_index >= len(stages) or stages[pending.stage_index].key != stage_key:
                # Not this stage's turn: resume wherever the login really is.
                return for_scripts(request, login_continue(request, pending), why="Continue your sign-in there.")
            return view(request, *args, pending=pending, **kwargs)

        return wrapped

    return decorator
