"""Login stages used by the tests of the staged login controller."""

from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import include, path

from authsite.login.flow import login_abort, login_stage_passed, pending_login_required
from authsite.login.stages import LoginStage


class ConfirmStage(LoginStage):
    key = "confirm"

    def handle(self, request, pending):
        pending.state_for(self.key)["shown"] = True
        return redirect("test_confirm")


class SkippedStage(LoginStage):
    key = "skipped"

    def handle(self, request, pending):
        return None


class RefuseOnceStage(LoginStage):
    """Refuses the first time it runs for a session, then lets the login through (as a risk check
    might on a second look from elsewhere)."""

    key = "refuse"

    def handle(self, request, pending):
        if request.session.get("refused_once"):
            return None
        request.session["refused_once"] = True
        return login_abort(request, "Refused.")


class SecondStage(ConfirmStage):
    key = "second"

    def handle(self, request, pending):
        return redirect("test_second")


def make_view(key):
    @pending_login_required(key)
    def view(request, pending):
        if request.method == "POST":
            return login_stage_passed(request, pending, key)
        return HttpResponse(f"stage {key} for user {pending.user_id}")

    return view


urlpatterns = [
    path("test/confirm/", make_view("confirm"), name="test_confirm"),
    path("test/second/", make_view("second"), name="test_second"),
    path("", include("authsite.urls")),
]
