"""Sign-in for the dashboard: the API token, kept in an HttpOnly cookie scoped to /ui.

The cookie holds the token itself rather than the key of a server-side
session: every process sharing the database then accepts it with no session
store, and revoking the token (``slaclock tokens revoke``) ends the sign-in
everywhere, as it does for the JSON API. HttpOnly keeps it from scripts,
SameSite=Strict keeps it off cross-site requests (the pages only read, so
there is nothing to forge), and Path=/ui keeps it off the JSON API, which
still needs the Authorization header.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse

from service.http.auth import Granted, Scope, authenticate
from service.http.problems import ProblemError

COOKIE = "slaclock_ui"
COOKIE_PATH = "/ui"
SIGN_IN = "/ui/sign-in"
HOME = "/ui"
MAX_TOKEN_LENGTH = 512
READ_SCOPE = Scope.TICKETS_READ


class SignInRequired(Exception):
    """No valid dashboard cookie: the page answers with a redirect to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def to_sign_in(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    # A fragment the overview's script asked for is no page to come back to.
    back = HOME if exc.next_path.startswith("/ui/fragments/") else exc.next_path
    target = f"{SIGN_IN}?next={quote(back, safe='/')}"
    response = RedirectResponse(target, status_code=303)
    # A stale or revoked token would otherwise be sent on every page.
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a page of the dashboard, never another site."""
    if not value or not value.startswith(HOME) or value.startswith("//") or "\\" in value:
        return HOME
    return value


async def check_token(request: Request, token: str) -> str | None:
    """None when ``token`` may read the dashboard; else why not (shown on the form).

    A database outage still answers 503, as the JSON API does.
    """
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return "Enter an API token."
    try:
        granted = await authenticate(request, token)
    except ProblemError as error:
        if error.status == 401:
            return "That token is unknown or revoked."
        raise
    if READ_SCOPE not in granted:
        return f"That token lacks the {READ_SCOPE.value} scope."
    return None


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token.strip(),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


async def signed_in(request: Request) -> Granted:
    """A dependency of every page: the cookie's scopes, or a redirect to the sign-in form."""
    where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise SignInRequired(where)
    try:
        granted = await authenticate(request, token)
    except ProblemError as error:
        if error.status == 401:
            raise SignInRequired(where) from error
        raise
    if READ_SCOPE not in granted:
        raise SignInRequired(where)
    return granted


SignedIn = Annotated[Granted, Depends(signed_in)]
