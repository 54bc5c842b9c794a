"""Tokenizer throughput (notes/s): seqart's ``events`` tokenizer against MidiTok's REMI.

The first ``--files`` Bach chorales of music21's corpus (seqart's ``bach`` source
order) are written to MIDI once by music21 into ``bench/.cache/bach_midi/`` and
reused afterwards. Every tokenizer then works on the same files, already loaded
(reading is timed apart and kept out of the tokenizer figures):

- seqart rows take :class:`seqart.Score` objects read by ``seqart.io.read_scores``;
- MidiTok rows take ``symusic.Score`` objects (what ``tokenizer.encode`` wants).

Encode and decode are timed separately, each as the best of ``--repeat`` passes
over all files after one untimed warm-up call. ``notes`` is the number of notes in
the input files as the row's own loader reads them; notes/s divides it by the time
of a pass, for encode and decode alike (``melody`` keeps only the top voice and
``pianoroll`` merges repeated notes, so they decode fewer: see ``notes out``).

MidiTok rows (``pip install miditok``, 3.x API):

- ``REMI (seqart-like)``: a config close to ``events``' defaults: 4 steps a beat,
  durations up to 8 beats, 32 velocities, 32 log-spaced tempos 30-300 bpm, time
  signatures and programs in one token stream, pitches 0-126 (the widest MidiTok takes);
- ``REMI (default config)``: ``miditok.TokenizerConfig()`` as shipped (what
  MEASUREMENTS.md's 21.8k / 80k notes/s were probably taken with).

Usage::

    PYTHONPATH=. python bench/bench_tokenizers.py [--files 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CACHE_DIR, Stopwatch, print_table, rate, write_results  # noqa: E402

NAME = "tokenizers"
MIDI_DIR = CACHE_DIR / "bach_midi"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100, help="number of Bach chorales (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is kept (default 3)")
    parser.add_argument("--no-miditok", action="store_true", help="leave out the MidiTok rows")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- the files
def chorale_midi_files(count: int) -> list[Path]:
    """MIDI files of the first ``count`` chorales, written by music21 on first use.

    Each file is written to a temporary name and renamed, so an interrupted run
    never leaves a half-written file behind.
    """
    from seqart.corpora.registry import BUILTINS

    sources = BUILTINS["bach"].paths()[:count]
    MIDI_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for src in sources:
        dest = MIDI_DIR / f"{src.stem}.mid"
        if not dest.is_file():
            write_chorale_midi(src, dest)
        paths.append(dest)
    return paths


def write_chorale_midi(src: Path, dest: Path) -> None:
    """Parse a chorale with music21 and write it as a standard MIDI file at ``dest``."""
    from music21 import converter

    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    converter.parse(src).write("midi", fp=str(tmp))
    os.replace(tmp, dest)


def load_seqart(paths: list[Path]) -> tuple[list, float]:
    """seqart Scores of ``paths`` and the seconds reading them took."""
    from seqart.io import read_scores

    with Stopwatch() as sw:
        scores = [read_scores(p)[0] for p in paths]
    return scores, sw.seconds


def load_symusic(paths: list[Path]) -> tuple[list, float]:
    """symusic Scores of ``paths`` and the seconds reading them took."""
    import symusic

    with Stopwatch() as sw:
        scores = [symusic.Score(str(p)) for p in paths]
    return scores, sw.seconds


def symusic_notes(score) -> int:
    """Notes in a symusic Score (all tracks)."""
    return sum(len(track.notes) for track in score.tracks)


# ------------------------------------------------------------------- timing
@dataclass
class Codec:
    """One tokenizer under test.

    Attributes:
        label: the row name.
        encode: input score -> tokens.
        decode: tokens -> output score.
        count_notes: score (input or output) -> number of notes.
        tokens_of: encoded output -> number of tokens (or frames).
    """

    label: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    count_notes: Callable[[Any], int]
    tokens_of: Callable[[Any], int]


def best_pass(func: Callable[[Any], Any], items: list, repeat: int) -> tuple[float, list]:
    """Best wall time of ``repeat`` passes of ``func`` over ``items``, and the last outputs."""
    best, outputs = float("inf"), []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        outputs = [func(x) for x in items]
        best = min(best, time.perf_counter() - start)
    return best, outputs


def measure(codec: Codec, scores: list, repeat: int) -> dict:
    """Encode and decode throughput of ``codec`` on ``scores`` (one warm-up call first)."""
    codec.decode(codec.encode(scores[0]))
    notes = sum(codec.count_notes(s) for s in scores)
    enc_s, encoded = best_pass(codec.encode, scores, repeat)
    dec_s, decoded = best_pass(codec.decode, encoded, repeat)
    return {
        "tokenizer": codec.label,
        "files": len(scores),
        "notes": notes,
        "tokens": sum(codec.tokens_of(t) for t in encoded),
        "encode_s": enc_s,
        "encode_notes_per_s": rate(notes, enc_s),
        "decode_s": dec_s,
        "decode_notes_per_s": rate(notes, dec_s),
        "notes_out": sum(codec.count_notes(s) for s in decoded),
    }


# ------------------------------------------------------------------- codecs
def seqart_codec(name: str) -> Codec:
    """A seqart tokenizer from the registry, with its default config."""
    from seqart.tokenizers import get_tokenizer

    tok = get_tokenizer(name)
    return Codec(f"seqart {name}", tok.encode, tok.decode, lambda s: s.num_notes, len)


def miditok_config(matched: bool):
    """MidiTok's default TokenizerConfig, or one close to seqart ``events``' defaults."""
    import miditok

    if not matched:
        return miditok.TokenizerConfig()
    return miditok.TokenizerConfig(
        pitch_range=(0, 127), beat_res={(0, 8): 4}, num_velocities=32,
        use_tempos=True, num_tempos=32, tempo_range=(30, 300), log_tempos=True,
        use_time_signatures=True, use_programs=True, one_token_stream_for_programs=True,
    )


def miditok_codec(matched: bool) -> Codec:
    """MidiTok REMI on symusic Scores; tokens are counted over every returned sequence."""
    import miditok

    tok = miditok.REMI(miditok_config(matched))

    def n_tokens(seq) -> int:
        return sum(len(s) for s in seq) if isinstance(seq, list) else len(seq)

    label = "MidiTok REMI (seqart-like)" if matched else "MidiTok REMI (default config)"
    return Codec(label, tok.encode, tok.decode, symusic_notes, n_tokens)


# --------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    paths = chorale_midi_files(args.files)
    seqart_scores, seqart_read_s = load_seqart(paths)
    rows = [measure(seqart_codec(name), seqart_scores, args.repeat) for name in ("events", "melody", "pianoroll")]
    loading = [{"reader": "seqart.io.read_scores", "files": len(paths), "seconds": seqart_read_s,
                "ms_per_file": 1000 * seqart_read_s / len(paths)}]
    if not args.no_miditok:
        symusic_scores, symusic_read_s = load_symusic(paths)
        loading.append({"reader": "symusic.Score", "files": len(paths), "seconds": symusic_read_s,
                        "ms_per_file": 1000 * symusic_read_s / len(paths)})
        rows += [measure(miditok_codec(matched), symusic_scores, args.repeat) for matched in (True, False)]
    columns = [("tokenizer", "tokenizer", ""), ("notes", "notes", ",d"), ("tokens/frames", "tokens", ",d"),
               ("encode notes/s", "encode_notes_per_s", ",.0f"), ("decode notes/s", "decode_notes_per_s", ",.0f"),
               ("encode s", "encode_s", ".3f"), ("decode s", "decode_s", ".3f"), ("notes out", "notes_out", ",d")]
    print_table(f"Tokenizers on {len(paths)} Bach chorales (MIDI), best of {args.repeat}", columns, rows,
                note="MEASUREMENTS.md: MidiTok 3.1 REMI on 100 chorales (32,309 notes): "
                     "encode 21.8k notes/s, decode 80k notes/s.")
    print_table("Reading the files (not in the figures above)",
                [("reader", "reader", ""), ("files", "files", "d"), ("seconds", "seconds", ".3f"),
                 ("ms/file", "ms_per_file", ".2f")], loading)
    by_label = {r["tokenizer"]: r for r in rows}
    remi = by_label.get("MidiTok REMI (seqart-like)", {})
    events = by_label["seqart events"]
    summary = {
        "events_encode_notes_per_s": events["encode_notes_per_s"],
        "events_decode_notes_per_s": events["decode_notes_per_s"],
        "remi_encode_notes_per_s": remi.get("encode_notes_per_s"),
        "remi_decode_notes_per_s": remi.get("decode_notes_per_s"),
    }
    path = write_results(NAME, vars(args), rows, summary, loading=loading)
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
