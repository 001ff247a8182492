"""Who is using the console: the sign-in cookie, CSRF tokens and the page headers.

The cookie holds the credential itself (an API key or a JWT), HttpOnly and SameSite=Strict, so
every console request is authenticated exactly like an API call with that credential. A caller
may also send `Authorization: Bearer …` (scripts, the authorization matrix); such requests
need no CSRF token, since a browser never adds that header on its own."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request, Response

from ains.exceptions import Forbidden, Unauthorized
from ains.http import peer_of
from ains.security.principals import Principal
from ains.services import Services

COOKIE = "ains_console"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# only what the console serves itself: no inline script or style, no framing, no plugins
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# protected mode has no credential to derive a token from: one secret per process stands in
_OPEN_ACCESS_SECRET = secrets.token_bytes(32)


class SignInRequired(Exception):
    """No usable credential in the cookie: the browser is sent to the sign-in page."""


@dataclass(frozen=True)
class Visitor:
    """The principal of a console request and how it proved who it is."""

    principal: Principal
    credential: str | None
    by_header: bool

    @property
    def csrf_token(self) -> str:
        if self.credential is None:
            return hmac.new(_OPEN_ACCESS_SECRET, b"console-csrf", hashlib.sha256).hexdigest()
        # a one-way function of the HttpOnly credential: a page that cannot read the cookie
        # cannot compute it, and every replica computes the same one
        digest = hashlib.sha256(b"ains-console-csrf\x00" + self.credential.encode())
        return digest.hexdigest()


async def visitor(request: Request) -> Visitor:
    """The console's caller: the Authorization header, else the cookie, else protected mode."""
    services: Services = request.app.state.services
    header = request.headers.get("authorization")
    credential: str | None
    if header:
        principal = await services.auth.principal(header, peer_of(request))
        credential, by_header = header.partition(" ")[2].strip(), True
    else:
        credential = request.cookies.get(COOKIE) or None
        try:
            principal = await services.auth.principal(
                f"Bearer {credential}" if credential else None, peer_of(request)
            )
        except Unauthorized:
            raise SignInRequired from None
        by_header = False
    request.state.principal = principal
    await services.rate_limits.admit(request, principal)
    return Visitor(principal, credential, by_header)


async def changing_visitor(request: Request, form_token: str | None = None) -> Visitor:
    """The caller of a console action (a POST): a cookie-authenticated one must come from a
    console page of this origin and carry the page's CSRF token."""
    who = await visitor(request)
    if who.by_header:
        return who
    _check_origin(request)
    sent = request.headers.get(CSRF_HEADER) or form_token or ""
    if not hmac.compare_digest(sent, who.csrf_token):
        raise Forbidden("the console's CSRF token is missing or wrong: reload the page")
    return who


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return  # older browsers; SameSite=Strict and the token still hold
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    if parts.netloc != host:
        raise Forbidden(f"a console action must come from the console's own origin ({host})")


def sign_in(response: Response, request: Request, credential: str) -> None:
    response.set_cookie(
        COOKIE,
        credential,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
