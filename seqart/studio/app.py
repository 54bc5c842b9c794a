"""The studio's web application: the page, its static files and the JSON API.

Built on Starlette (served by uvicorn, see :mod:`seqart.studio.server`): a small
ASGI toolkit of routes, responses, middleware and a thread pool for blocking work,
with a test client. Nothing more is needed: the request bodies are a few fields
that seqart's own workflows and generators already validate with one-line errors,
so a framework with its own validation layer (FastAPI and pydantic) would check
everything twice and put a second kind of error message in front of the user.
Starlette and uvicorn are imported only by ``seqart studio``, never by
``import seqart`` or ``seqart --help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from seqart.errors import one_line
from seqart.studio import api
from seqart.studio.models import ModelEntry, find_models
from seqart.studio.security import LOOPBACK_HOSTS, SecurityMiddleware
from seqart.studio.session import StudioSession

#: the page's files: index.html, studio.js, studio.css
STATIC = Path(__file__).resolve().parent / "static"


def create_app(models: Sequence[ModelEntry | str | Path], token: str,
               allowed_hosts: Sequence[str] | None = None, folder: str | Path | None = None,
               record: bool | None = None) -> Starlette:
    """The studio application.

    Args:
        models: the models to offer: entries of :func:`~seqart.studio.models.find_models`,
            or shipped names and model/run folders (looked up here).
        token: this launch's secret (:func:`seqart.studio.security.new_token`).
        allowed_hosts: ``Host`` values to answer (``name:port``, or ``name`` for any port;
            None: the loopback names on any port). :func:`seqart.studio.security.allowed_hosts_for`
            gives a bound server's.
        folder: where the takes' files go (None: a new session folder in the data dir).
        record: record the takes in the feedback stores (None: unless ``SEQART_NO_RECORD=1``).

    Raises:
        ModelError: for a named model that does not exist or cannot be read.
    """
    entries = [m for m in models if isinstance(m, ModelEntry)]
    named = [m for m in models if not isinstance(m, ModelEntry)]
    if named:
        entries += find_models(given=named, shipped=())
    routes = [
        Route("/", index, methods=["GET"]),
        *api.routes,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, token=token,
                               allowed_hosts=list(allowed_hosts if allowed_hosts is not None else LOOPBACK_HOSTS))],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.state.session = StudioSession(entries, folder, record)
    return app


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html")


async def http_error(request: Request, exc: HTTPException) -> Response:
    """A route not found, a method not allowed: JSON under /api, text elsewhere."""
    message = exc.detail if isinstance(exc.detail, str) else str(exc.status_code)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": one_line(message)}, status_code=exc.status_code)
    return PlainTextResponse(message, status_code=exc.status_code)


async def internal_error(request: Request, exc: Exception) -> Response:
    """Whatever escaped: one line, status 500; the server goes on."""
    return JSONResponse({"error": f"internal error: {one_line(exc, 200)}"}, status_code=500)
