"""Work units: the pieces a corpus source is cut into for parsing.

An ABC tune book becomes one unit per tune (music21 parses single tunes about
five times faster than whole books); every other music file is one unit. Units
are what the parse cache keys and what worker processes parse.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqart.corpora.cache import unit_key
from seqart.corpora.registry import ResolvedSource

ABC_TUNE = "abc-tune"
FILE = "file"


@dataclass(frozen=True, slots=True)  # slots: a 100,000-file build holds 100,000 of these
class Unit:
    """One thing to parse.

    Attributes:
        label: name in the manifest, relative to the source root: ``"a/b.mid"`` or
            ``"book.abc#3"`` for the third tune of an ABC file.
        kind: ``"abc-tune"`` (``text`` holds the tune) or ``"file"`` (parse ``path``).
        path: absolute path of the file the unit comes from.
        text: the ABC text of one tune (with the file header), else None.
        key: cache key of the unit's content ("" for a unit that failed before parsing).
        error: why the file could not even be cut into units (unreadable, an ABC
            file without tunes), else None.
        expand_repeats: parse with repeats played out (see :func:`seqart.io.read_scores`);
            part of ``key``, so the cache never answers with the other reading.
    """

    label: str
    kind: str
    path: str
    text: str | None = None
    key: str = ""
    error: str | None = None
    expand_repeats: bool = False


def expand_units(resolved: ResolvedSource, expand_repeats: bool = False) -> list[Unit]:
    """The units of a folder, file or built-in source, in source order.

    Reads every file once (to split ABC books and hash content); parses nothing.
    The format comes from the content first (:func:`seqart.io.detect_format`), so a
    MIDI file named ``.abc`` is one file unit, not a tune book. ``expand_repeats``
    is given to every unit.
    """
    from seqart.errors import ScoreReadError
    from seqart.io import detect_format
    from seqart.io.music21_reader import split_abc_tunes

    units: list[Unit] = []
    for path in resolved.files:
        label = resolved.label(path)
        try:
            fmt = detect_format(path)
            data = path.read_bytes()
        except ScoreReadError as exc:
            units.append(Unit(label, FILE, str(path), error=exc.reason))
            continue
        except OSError as exc:
            units.append(Unit(label, FILE, str(path), error=f"cannot read ({exc.strerror or exc})"))
            continue
        if fmt != "abc":
            key = unit_key(f"{FILE}{path.suffix.lower()}", _with_options(data, expand_repeats))
            units.append(Unit(label, FILE, str(path), key=key, expand_repeats=expand_repeats))
            continue
        tunes = split_abc_tunes(data.decode("utf-8-sig", errors="replace"))
        if not tunes:
            units.append(Unit(label, FILE, str(path), error="no ABC tune in the file (no 'X:' line)"))
            continue
        for i, tune in enumerate(tunes):
            units.append(Unit(f"{label}#{i + 1}", ABC_TUNE, str(path), text=tune,
                              key=unit_key(ABC_TUNE, _with_options(tune.encode("utf-8"), expand_repeats)),
                              expand_repeats=expand_repeats))
    return units


def _with_options(content: bytes, expand_repeats: bool) -> bytes:
    """What a unit's cache key hashes: its content, plus the read options that
    change its parse (none by default, so default keys stay as they were)."""
    return content + b"\0expand_repeats" if expand_repeats else content


def parse_unit(unit: Unit, time_limit: float | None = None) -> tuple[dict, bool]:
    """Parse one unit (imports music21/symusic as needed; runs in a worker process).

    Args:
        unit: what to parse.
        time_limit: seconds the parse may take (None: no limit); enforced only in
            a process's main thread (see :func:`seqart.utils.timelimit.time_limit`).

    Returns:
        ``(payload, cacheable)``: the payload is ``{"scores": [Score.to_dict(), ...]}``
        or ``{"error": reason}`` (one line, without the file name). ``cacheable`` is
        False for unexpected failures (a bug or a resource problem rather than bad
        content) and for parses that ran out of time, which are retried on the next build.
    """
    from seqart.errors import ScoreReadError, SeqartError, one_line
    from seqart.utils.timelimit import TimeLimitExceeded
    from seqart.utils.timelimit import time_limit as limit

    if unit.error is not None:
        return {"error": unit.error}, False
    try:
        with limit(time_limit):
            if unit.kind == ABC_TUNE:
                from seqart.io.music21_reader import parse_abc_tune

                scores = [parse_abc_tune(unit.text or "", source=unit.label, expand_repeats=unit.expand_repeats)]
            else:
                from seqart.io import read_scores

                # the limit above covers it
                scores = read_scores(unit.path, time_limit=None, expand_repeats=unit.expand_repeats)
    except TimeLimitExceeded as exc:
        return {"error": f"{exc} (the time limit per file; see --time-limit)"}, False
    except ScoreReadError as exc:
        return {"error": exc.reason}, True
    except SeqartError as exc:
        return {"error": str(exc)}, True
    except RecursionError:
        return {"error": "too deeply nested to parse"}, True
    except Exception as exc:  # a parser bug must not abort a 10,000-file build
        msg = one_line(exc, 160)
        return {"error": f"unexpected {type(exc).__name__} while parsing ({msg})"}, False
    if not scores:
        return {"error": "no score in the file"}, True
    return {"scores": [s.to_dict() for s in scores]}, True
