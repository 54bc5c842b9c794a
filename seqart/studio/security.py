"""Who may use a studio: the one person who started it, from this machine's browser.

Three checks, in this order, on every request:

1. **Host.** The ``Host`` header must name a loopback address (``127.0.0.1``,
   ``localhost``, ``[::1]``) or the address the server was bound to. A web page on
   another site can point its own domain name at 127.0.0.1 (DNS rebinding) and
   then talk to the studio as "same origin"; its requests still carry its own
   domain in ``Host``, so they are refused here (403).
2. **Origin.** A request that changes something (not GET or HEAD) and says where it
   comes from must come from an allowed host too (403).
3. **Token.** Like Jupyter's: a secret drawn at each launch and printed in the
   URL. ``/?token=SECRET`` on the first page load sets an HttpOnly, SameSite=Strict
   cookie and redirects to ``/`` (so the secret leaves the address bar and the
   history); after that the page's requests carry the cookie. Every ``/api`` call
   needs the cookie or an ``X-Seqart-Token`` header (a script's way in): none is
   401, a wrong one 403. Tokens are compared in constant time. The static assets
   (the page's own script and style, no data) need only the Host check.

Every response also tells the browser to run nothing but the studio's own files
(a Content-Security-Policy of ``'self'``), to send no referrer and not to sniff
types.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Sequence
from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

#: host names that always mean this machine
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: the header a script sends the token in
TOKEN_HEADER = "X-Seqart-Token"
#: what every response carries
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; media-src 'self'; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_SAFE_METHODS = ("GET", "HEAD")


def new_token() -> str:
    """A fresh secret for one launch (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def tokens_match(given: str | None, token: str) -> bool:
    """True if ``given`` is ``token``, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def is_loopback(host: str) -> bool:
    """True for a host (name or address, ``::1`` with or without brackets) that means this machine."""
    return host.strip("[]").lower() in ("127.0.0.1", "localhost", "::1")


def allowed_hosts_for(host: str, port: int) -> list[str]:
    """The ``Host`` values a server bound to ``host:port`` answers: the loopback names and
    the bound address, each with the port (and without it on port 80)."""
    bound = f"[{host}]" if ":" in host and not host.startswith("[") else host
    names = dict.fromkeys([*LOOPBACK_HOSTS, bound.lower()])
    bare = list(names) if port == 80 else []  # a browser leaves out the default port
    return [f"{name}:{port}" for name in names] + bare


def host_allowed(host_header: str | None, allowed: Sequence[str]) -> bool:
    """True if a ``Host`` header value is one of ``allowed`` (``name:port``, or ``name`` for
    any port); names compare without case, an IPv6 address in brackets."""
    if not host_header:
        return False
    name, port = split_host(host_header)
    return any(name == entry_name and entry_port in (None, port)
               for entry_name, entry_port in map(split_host, allowed))


def split_host(value: str) -> tuple[str, str | None]:
    """``"Example:80"`` -> ``("example", "80")``, ``"[::1]:8765"`` -> ``("[::1]", "8765")``,
    ``"localhost"`` -> ``("localhost", None)``."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        return name + "]", rest[1:] if rest.startswith(":") else None
    if value.count(":") == 1:
        name, port = value.split(":")
        return name, port
    return value, None


def cookie_name(port: int | None) -> str:
    """The token cookie's name; per port, because cookies are shared by every port of a host."""
    return f"seqart_studio_{port or 0}"


class SecurityMiddleware(BaseHTTPMiddleware):
    """The checks of the module docstring, before any route runs.

    Args:
        app: the application.
        token: this launch's secret.
        allowed_hosts: ``Host`` values to answer (see :func:`host_allowed`).
    """

    def __init__(self, app, token: str, allowed_hosts: Sequence[str]):
        super().__init__(app)
        self.token = token
        self.allowed_hosts = list(allowed_hosts)

    async def dispatch(self, request: Request, call_next) -> Response:
        response = await self._check(request) or await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _check(self, request: Request) -> Response | None:
        """A refusal, a redirect that sets the cookie, or None to go on."""
        if not host_allowed(request.headers.get("host"), self.allowed_hosts):
            return _refuse(request, 403, "this studio answers only on this machine's own address (Host refused)")
        origin = request.headers.get("origin")
        if request.method not in _SAFE_METHODS and origin is not None and not self._origin_allowed(origin):
            return _refuse(request, 403, "requests from other sites are refused (Origin refused)")
        path = request.url.path
        if path.startswith("/static/"):
            return None
        cookie = cookie_name(request.url.port)
        if path == "/" and "token" in request.query_params:
            if not tokens_match(request.query_params["token"], self.token):
                return _refuse(request, 403, "wrong token: open the link seqart studio printed")
            redirect = RedirectResponse("/", status_code=303)
            redirect.set_cookie(cookie, self.token, httponly=True, samesite="strict", path="/")
            return redirect
        given = request.headers.get(TOKEN_HEADER) or request.cookies.get(cookie)
        if given is None:
            return _refuse(request, 401, "no token: open the link seqart studio printed (it ends in ?token=...)")
        if not tokens_match(given, self.token):
            return _refuse(request, 403, "wrong token: open the link seqart studio printed")
        return None

    def _origin_allowed(self, origin: str) -> bool:
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and host_allowed(parts.netloc, self.allowed_hosts)


def _refuse(request: Request, status: int, message: str) -> Response:
    """A refusal: JSON for the API, plain text for a page."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return PlainTextResponse(message + "\n", status_code=status)
