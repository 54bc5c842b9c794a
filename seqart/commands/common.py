"""What every command shares: turning a :class:`SeqartError` into a one-line
message and exit status 2."""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

import typer

F = TypeVar("F", bound=Callable)


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print ``error: message`` on stderr, on one line, and return an Exit to raise.

    Line breaks in the message (a library's multi-line error text passed on in
    parentheses) are folded into spaces, so the user always sees one line.
    """
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(code)


def guarded(func: F) -> F:
    """Decorate a command so user errors end as one line on stderr and exit 2.

    SeqartError (bad input), FileNotFoundError/PermissionError/IsADirectoryError
    and KeyboardInterrupt never show a traceback. An output that exists
    (OutputExistsError) is told in the command line's terms: ``--force`` replaces it.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from seqart.errors import OutputExistsError, RunExistsError, SeqartError

        try:
            return func(*args, **kwargs)
        except OutputExistsError as exc:
            raise fail(f"{exc.path} exists; pass --force to overwrite it, or choose another -o") from None
        except RunExistsError as exc:
            raise fail(f"{exc.path} already holds a run; add --resume to continue it, or choose another -o") from None
        except SeqartError as exc:
            raise fail(str(exc)) from None
        except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
            name = getattr(exc, "filename", None)
            raise fail(f"{name}: {exc.strerror}" if name else str(exc)) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
