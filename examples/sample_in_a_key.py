"""Sample melodies in a chosen key, scale and range, and save them as MIDI and MusicXML.

    python examples/sample_in_a_key.py --key "E minor" --scale dorian -o out/
    python examples/sample_in_a_key.py --quick
"""

from __future__ import annotations

import argparse
from pathlib import Path

import seqart


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="folk")
    parser.add_argument("--key", default="E minor")
    parser.add_argument("--scale", default="dorian")
    parser.add_argument("--range", dest="pitch_range", default="E4-E6")
    parser.add_argument("-o", "--out", default="out")
    parser.add_argument("--quick", action="store_true", help="2 short melodies (for tests)")
    args = parser.parse_args(argv)

    gen = seqart.load(args.model)
    num, bars = (2, 2) if args.quick else (4, 16)
    melodies = gen.sample(num=num, bars=bars, key=args.key, scale=args.scale, pitch_range=args.pitch_range,
                          temperature=0.9, seed=7)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, melody in enumerate(melodies, 1):
        written.append(melody.write(out / f"melody-{i}.mid"))
        written.append(melody.write(out / f"melody-{i}.musicxml"))
        pitches = sorted({n.pitch for n in melody.notes})
        print(f"melody {i}: {melody.num_notes} notes, pitches {pitches[0]}-{pitches[-1]}")
    return written


if __name__ == "__main__":
    main()
