"""The ids the studio gives takes, primers and jobs: 16 random hex digits, never a path.

Every registry draws its ids with :func:`new_id` and looks them up with
:func:`lookup`, which refuses anything that is not such an id before touching its
table, so a client can never name a file or probe with odd strings.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Mapping, TypeVar

#: what an id looks like
ID = re.compile(r"[0-9a-f]{16}")

T = TypeVar("T")


def new_id() -> str:
    """A fresh id (64 random bits)."""
    return secrets.token_hex(8)


def lookup(items: Mapping[str, T], key: Any, error: type[Exception], message: str) -> T:
    """``items[key]``, or ``error(message)`` for a key that is not an id or not held.

    Args:
        message: the one-line error; ``{key}`` in it is replaced by the key as given
            (cut to 40 characters, quoted).
    """
    found = items.get(key) if isinstance(key, str) and ID.fullmatch(key) else None
    if found is None:
        raise error(message.format(key=repr(str(key)[:40])))
    return found
