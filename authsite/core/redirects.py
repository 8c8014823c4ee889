"""Sending a browser elsewhere, whether it asked for a page or a script asked for JSON."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseRedirectBase


def wants_json(request: HttpRequest) -> bool:
    """Whether the request came from the site's scripts (WebAuthn), which post JSON."""
    return request.content_type == "application/json"


def json_redirect(response: HttpResponseRedirectBase, *, error: str | None = None) -> JsonResponse:
    """The JSON form of a redirect for the site's scripts, with the cookies the redirect set.

    ``{"redirect": url}`` (200) when the request was done, e.g. a login step that finished (its
    device and remembered-device cookies go along); ``{"error": ..., "redirect": url}`` (401)
    when it could not be, and the browser must go there first.
    """
    body = {"redirect": response["Location"]}
    if error is not None:
        body["error"] = error
    reply = JsonResponse(body, status=200 if error is None else 401)
    reply.cookies = response.cookies
    return reply


def for_scripts(request: HttpRequest, response: HttpResponse, *, why: str) -> HttpResponse:
    """Turn a redirect into JSON naming where to go when a script made the request.

    fetch() follows a redirect silently and receives a page instead of JSON: the script cannot
    tell the user anything useful, and the page it fetched may use up a one-time message meant
    for the user. The script gets ``{"error": why, "redirect": url}`` and navigates there.
    """
    if isinstance(response, HttpResponseRedirectBase) and wants_json(request):
        return json_redirect(response, error=why)
    return response
