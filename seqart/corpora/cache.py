"""On-disk cache of parsed work units, so a rebuild does not parse music again.

Each entry is the parse result of one work unit (one ABC tune or one file): the
:meth:`seqart.Score.to_dict` dicts of its scores, or the reason it could not be
read. The key is the sha256 of the parser tag (seqart's parser version, a digest
of the reader code and the versions of the libraries that parse), the unit kind
and the unit's content, so an edited file, an edited reader or a new music21
gives a new key, and a moved or renamed file still hits.

Layout: ``ROOT/ab/cd/abcd....json.gz``, one small gzip JSON per unit, where ROOT is
``$SEQART_CACHE_DIR/scores`` or else ``~/.cache/seqart/scores`` (``$XDG_CACHE_HOME``
is honoured). Entries are written to a temporary file and renamed, so a reader
never sees half an entry; an unreadable entry counts as a miss.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

#: Bump when the conversion of files to :class:`seqart.Score` changes in a way
#: that should invalidate cached parses. 2: keys keep their mode (dorian, ...) and
#: scores carry ``style`` (entries of version 1 hold every mode as major or minor).
PARSER_VERSION = 2


def default_cache_dir() -> Path:
    """``$SEQART_CACHE_DIR/scores``, or ``$XDG_CACHE_HOME/seqart/scores``, or ``~/.cache/seqart/scores``."""
    env = os.environ.get("SEQART_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "scores"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "seqart" / "scores"


#: Source files (relative to the seqart package) whose code decides how a unit
#: kind parses; their digest is part of the key, so an edited reader never serves
#: stale parses. ABC tunes go through the music21 reader only; files through any
#: reader (modules named ``*writer*`` are left out: writing never changes a parse).
_READER_CODE = {
    "abc-tune": ("io/music21_reader.py", "score.py"),
    "file": ("io/*.py", "score.py"),
}


@lru_cache(maxsize=None)
def parser_tag(kind: str = "file") -> str:
    """Everything that decides how a unit of ``kind`` (``"abc-tune"`` or ``"file..."``) parses.

    seqart's parser version, a digest of the reader code that parses that kind
    (see ``_READER_CODE``) and the versions of the parsing libraries (read from
    package metadata, not imported).
    """
    from importlib import metadata

    import seqart

    package = Path(seqart.__file__).parent
    patterns = _READER_CODE["abc-tune" if kind == "abc-tune" else "file"]
    code = hashlib.sha256()
    files = {p for pattern in patterns for p in package.glob(pattern) if "writer" not in p.name}
    for path in sorted(files):
        try:
            code.update(path.name.encode() + b"\0" + path.read_bytes())
        except OSError:
            pass
    parts = [f"seqart-parse/{PARSER_VERSION}", f"seqart/{seqart.__version__}", f"readers/{code.hexdigest()[:16]}"]
    for dist in ("music21", "symusic"):
        try:
            parts.append(f"{dist}/{metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}/-")
    return " ".join(parts)


def unit_key(kind: str, content: bytes) -> str:
    """Cache key (64 hex digits) of a unit of ``kind`` whose content is ``content``."""
    h = hashlib.sha256()
    for part in (parser_tag(kind).encode(), kind.encode()):
        h.update(part)
        h.update(b"\0")
    h.update(content)
    return h.hexdigest()


class ScoreCache:
    """Parse results on disk, one gzip JSON per unit key.

    Args:
        root: cache folder (default :func:`default_cache_dir`).

    A payload is ``{"scores": [score dicts]}`` or ``{"error": "reason"}``.
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()

    def path_for(self, key: str) -> Path:
        """Where the entry of ``key`` lives (two-level fan-out by the key's first 4 digits)."""
        return self.root / key[:2] / key[2:4] / f"{key}.json.gz"

    def get(self, key: str) -> dict | None:
        """The cached payload of ``key``, or None if absent or unreadable."""
        try:
            payload = json.loads(gzip.decompress(self.path_for(key).read_bytes()))
        except (OSError, ValueError, EOFError):
            return None
        if not isinstance(payload, dict) or not ("scores" in payload or "error" in payload):
            return None
        return payload

    def put(self, key: str, payload: dict) -> bool:
        """Store ``payload`` under ``key`` atomically.

        Returns:
            False if the cache folder cannot be written (the build goes on without it).
        """
        path = self.path_for(key)
        data = gzip.compress(json.dumps(payload, separators=(",", ":")).encode("utf-8"), compresslevel=5, mtime=0)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # no fsync: a lost entry is only a re-parse
            return True
        except OSError:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            return False
