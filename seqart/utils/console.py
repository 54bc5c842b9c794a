"""The console progress bars and tables are drawn on: standard error, so standard
output stays for what a command prints as its result."""

from __future__ import annotations

import sys


def console():
    """A rich console on stderr, created on each call (cheap; rich loads on first use)."""
    from rich.console import Console

    return Console(stderr=True, file=sys.stderr)
