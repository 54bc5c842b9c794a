"""A DAW-style script: take a clip, generate 4 variations of its continuation,
lay them out one after another in one MIDI file, and print the notes in beats.

    python examples/daw_variations.py clip.mid -o variations.mid
    python examples/daw_variations.py --quick          # a built-in clip, tiny output (used by the tests)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import seqart
from seqart import KeySignature, Note, Score, TimeSignature, Track


def demo_clip() -> Score:
    """Two bars of a D major idea in 4/4 (beats = quarter notes)."""
    notes = [Note(62, 0, 1), Note(66, 1, 0.5), Note(69, 1.5, 0.5), Note(74, 2, 1.5), Note(73, 3.5, 0.5),
             Note(71, 4, 1), Note(69, 5, 1), Note(66, 6, 2)]
    return Score(tracks=[Track(notes=notes, name="idea")], time_signatures=[TimeSignature(0, 4, 4)],
                 key_signatures=[KeySignature(0, 2, "major")])


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", help="MIDI/MusicXML/ABC clip (default: a built-in idea)")
    parser.add_argument("-o", "--out", default="variations.mid")
    parser.add_argument("--model", default="folk", help="shipped model name or model folder")
    parser.add_argument("--bars", type=int, default=4, help="bars to add to the clip")
    parser.add_argument("--quick", action="store_true", help="1 bar per variation (for tests)")
    args = parser.parse_args(argv)

    clip = Score.from_file(args.clip) if args.clip else demo_clip()
    generator = seqart.load(args.model)
    bars = 1 if args.quick else args.bars
    variations = generator.continue_score(clip, bars=bars, num=4, seed=2024, temperature=0.9)

    # Lay the variations end to end, one bar of silence apart, each on its own track.
    bar = clip.time_signature.bar_beats
    song = Score(tempos=clip.tempos, time_signatures=clip.time_signatures, key_signatures=clip.key_signatures)
    at = 0.0
    for i, variation in enumerate(variations, 1):
        shifted = [Note(n.pitch, n.start + at, n.duration, n.velocity) for n in variation.notes]
        song.tracks.append(Track(notes=shifted, name=f"variation {i}"))
        print(f"variation {i}: starts at beat {at:g}")
        for n in variation.notes:
            print(f"  pitch {n.pitch:3d}  start {n.start:6.2f}  duration {n.duration:5.2f} beats")
        at += (variation.end // bar + 2) * bar
    out = song.write(args.out)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
