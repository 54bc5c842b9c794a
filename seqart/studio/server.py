"""Run the studio: bind the address, print the link with its token, open the browser,
serve with uvicorn until Ctrl-C.

The socket is bound here, before uvicorn starts, so an address in use is one clear
line (``choose another --port``) rather than a server log, and ``--port 0`` (any free
port) still prints the right link.
"""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from pathlib import Path
from typing import Callable, Sequence

from seqart.errors import SeqartError
from seqart.studio.security import is_loopback

#: seconds the browser waits for the server to start before it is opened anyway
BROWSER_WAIT = 10.0
#: seconds Ctrl-C waits for responses still open before closing them (a job's event stream ends by itself)
SHUTDOWN_WAIT = 2


def serve(models: Sequence[str | Path] = (), host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
          cwd: str | Path | None = None, echo: Callable[[str], None] = print, record: bool | None = None) -> None:
    """Serve the studio until Ctrl-C.

    Args:
        models: ``--model`` values (shipped names, model or run folders), offered besides
            the shipped models and the model folders directly inside ``cwd``.
        host: address to listen on; anything but loopback is warned about.
        port: TCP port (0: any free one).
        open_browser: open the page in the default browser once the server listens.
        cwd: the folder looked in for model folders (None: the current folder).
        echo: where the link and the warnings go, one line per call.
        record: record the takes in the feedback stores (None: unless ``SEQART_NO_RECORD=1``).

    Raises:
        SeqartError: for a given model that does not exist, or an address that cannot be listened on.
    """
    import uvicorn

    from seqart.studio.app import create_app
    from seqart.studio.models import find_models
    from seqart.studio.security import allowed_hosts_for, new_token

    entries = find_models(given=models, cwd=Path.cwd() if cwd is None else cwd)
    sock = bind(host, port)
    port = sock.getsockname()[1]
    token = new_token()
    app = create_app(entries, token, allowed_hosts_for(host, port), record=record)
    url = page_url(host, port, token)
    if not is_loopback(host):
        echo(f"warning: listening on {host}, not only this machine: anyone who can reach it and has the "
             "link can generate and read takes")
    echo(f"seqart studio: {len(entries)} model{'s' if len(entries) != 1 else ''}; open {url}")
    echo(f"takes are kept in {app.state.session.takes.folder}; Ctrl-C stops the studio")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=SHUTDOWN_WAIT))
    app.state.stopping = lambda: server.should_exit  # a job's event stream ends at Ctrl-C
    if open_browser:
        threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn has shut down cleanly and raised the signal again
    finally:
        sock.close()
        app.state.session.jobs.stop_all()  # a tune running in a child process stops with the studio
    echo("studio stopped")


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv4 or IPv6, as the host is).

    Raises:
        SeqartError: for a bad port, an unknown host or an address that cannot be bound.
    """
    if not 0 <= port <= 65535:
        raise SeqartError(f"port must be within 0-65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise SeqartError(f"cannot listen on {host}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise SeqartError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port") from None
    return sock


def page_url(host: str, port: int, token: str) -> str:
    """The link to open: a wildcard address (``0.0.0.0``, ``::``) is reached at 127.0.0.1."""
    name = host.strip("[]")
    if name in ("", "0.0.0.0", "::"):
        name = "127.0.0.1"
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}/?token={token}"


def _open_when_started(server, url: str) -> None:
    deadline = time.monotonic() + BROWSER_WAIT
    while not server.started and not server.should_exit and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.should_exit:
        webbrowser.open(url)
