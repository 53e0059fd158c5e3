"""Who is signed in, and the CSRF check every POST passes before it does anything."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import Tx, ui
from circlet.errors import CIError
from circlet.model.accounts import User
from circlet.web.sessions import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    new_csrf_seed,
)
from circlet.web.state import web_state


class SignInRequired(CIError):
    """Sign in to see this page."""

    def __init__(self, next_url: str) -> None:
        super().__init__()
        self.next_url = next_url


class CsrfRejected(CIError):
    """This form has expired or did not come from this site. Reload the page and try again."""


def csrf_seed(request: Request) -> str:
    """The browser's CSRF seed; a new one (set on the response by ``set_cookies``) when it has none."""
    seed = request.cookies.get(CSRF_COOKIE)
    if seed and 16 <= len(seed) <= 64:  # noqa: PLR2004
        return seed
    new: str | None = getattr(request.state, "new_csrf_seed", None)
    if new is None:
        new = new_csrf_seed()
        request.state.new_csrf_seed = new
    return new


def csrf_token(request: Request) -> str:
    return web_state(request).codec.csrf_token(csrf_seed(request))


def set_cookies(request: Request, response: Response) -> None:
    """Attach a new CSRF seed cookie when this request made one."""
    seed = getattr(request.state, "new_csrf_seed", None)
    if seed:
        response.set_cookie(
            CSRF_COOKIE,
            seed,
            httponly=True,
            samesite="strict",
            secure=web_state(request).secure_cookies,
            path="/",
        )


def start_session(request: Request, response: Response, api_token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        web_state(request).codec.seal(api_token),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=web_state(request).secure_cookies,
        path="/",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


async def web_user(request: Request, tx: TxDep) -> User:
    """The signed-in user; raises SignInRequired (a redirect to the sign-in page) otherwise."""
    token = web_state(request).codec.open(request.cookies.get(SESSION_COOKIE))
    user = await ui.user_for_token(tx, token) if token else None
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    request.state.web_user = user
    return user


def session_check(request: Request, user: User) -> Callable[[Tx], Awaitable[bool]]:
    """For a live stream: whether the session it opened with is still valid (the cookie not expired,
    its token not revoked, and still the same user's)."""
    codec, cookie = web_state(request).codec, request.cookies.get(SESSION_COOKIE)

    async def still_valid(tx: Tx) -> bool:
        token = codec.open(cookie)
        found = await ui.user_for_token(tx, token) if token else None
        return found is not None and found.id == user.id

    return still_valid


async def check_csrf(request: Request) -> None:
    """Reject a POST whose CSRF token (form field or header) does not match this browser's seed."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise CsrfRejected()
    given = request.headers.get(CSRF_HEADER)
    if not given:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not web_state(request).codec.check_csrf(request.cookies.get(CSRF_COOKIE), given):
        raise CsrfRejected()


WebUser = Annotated[User, Depends(web_user)]
CsrfChecked = Depends(check_csrf)
