"""What the shipped models generate for fixed seeds, as plain data: the cases
``tests/test_pinned_samples.py`` holds against ``tests/fixtures/pinned/samples.json``.

The fixture was written by the code of the commit that added it (before the
package was restructured) with ``PYTHONPATH=. python tests/pinned_cases.py``;
regenerating it is for a deliberate change of what the models generate, never to
make a test pass. Regenerated for the melody cases only (issue 16: a melody opens on
the downbeat, ends on the tonic, draws its key from the training tunes' keys, and the
default ``folk`` model became a melody transformer over layout-2 tokens, with the
style and form cases added); every other case came out identical. The reel AABB case
again when each 8-bar section's last bars became candidates, half closing on the tonic,
and every ``folk`` case when the shipped transformer was trained 2,000 steps further,
and again when it moved to layout-3 tokens (triplets) with 1,000 more steps of style-balanced
training, a gentler pull toward drawn section letters and continuations that answer their
primer's opening. Every ``folk`` case and the melody-lstm folder again when the ending became
a draw among its candidates (in proportion to the model's probability of the forced steps),
section closes held their tonic a beat and were drawn the same way, top-k began to hold per
row, and the shipped transformer was trained 2,400 steps further. The ``folk`` default and reel
AABB cases again when a rest became much less likely in the last bar of every 4-bar phrase
(``PHRASE_END_REST_PENALTY``); the folded NumPy transformer step alone left every case identical.
The ``folk`` cases at its own temperatures again when it got them (1.05, pitches 0.95) and a note
struck five times running became less likely to be struck again (``SAME_NOTE_RUN``). The
``folk-fast`` case was added with that model. Every ``folk`` case again when the default became
the 3-block model distilled from the 4-block one, which ships on as ``folk-large``: the
``folk-large`` case replaced ``folk-fast``'s and is, note for note, the old ``folk`` default case.
The ``folk`` default and twinkle cases again when the note just struck began to give a little of
its weight to the other notes (``REPEAT_PENALTY``); every other case came out identical.
"""

from __future__ import annotations

import json
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "pinned" / "samples.json"
#: a model folder of each registered type (tiny, untrained weights drawn under seed 0),
#: written by the code before the restructuring (commit "Pin what the shipped models ...");
#: they must keep loading and sampling the same
FOLDERS = FIXTURE.parent / "models"
TWINKLE = Path(__file__).resolve().parent / "fixtures" / "twinkle.mid"


def notes(score) -> list[list]:
    """``[pitch, start, duration, velocity]`` of every note, in beats, rounded to 1e-6."""
    return [[n.pitch, round(n.start, 6), round(n.duration, 6), n.velocity] for n in score.notes]


def describe(score) -> dict:
    return {"notes": notes(score),
            "time_signatures": [[t.beat, t.numerator, t.denominator] for t in score.time_signatures],
            "key_signatures": [[k.beat, k.tonic, k.mode] for k in score.key_signatures],
            "tempos": [[t.beat, round(t.bpm, 6)] for t in score.tempos]}


def from_folders() -> dict:
    """What each pinned folder generates for a fixed seed."""
    import hashlib

    import seqart

    out = {}
    gen = seqart.load(str(FOLDERS / "melody-lstm"))
    out["folder melody-lstm"] = [describe(s) for s in gen.sample(num=2, bars=2, seed=1)]
    for kind in ("poly-lstm", "poly-nade"):
        gen = seqart.load(str(FOLDERS / kind))
        out[f"folder {kind}"] = [describe(s) for s in gen.sample(num=2, bars=1, seed=1)]
    vae = seqart.load(str(FOLDERS / "music-vae"))
    out["folder music-vae"] = [describe(s) for s in vae.sample(2, temperature=1.0, seed=1)]
    for kind in ("dcgan", "image-vae"):
        images = seqart.load(str(FOLDERS / kind)).sample(num=3, seed=1)
        out[f"folder {kind}"] = {"shape": list(images.shape), "dtype": str(images.dtype),
                                 "sha256": hashlib.sha256(images.tobytes()).hexdigest()}
    return out


def generate() -> dict:
    """Every pinned case, freshly generated."""
    import seqart

    folk = seqart.load("folk")
    out = {
        "folk default seed 7": [describe(s) for s in folk.sample(num=2, bars=4, seed=7)],
        "folk D dorian 6/8 seed 3": [describe(s) for s in folk.sample(
            num=2, bars=4, seed=3, key="D minor", scale="dorian", time_signature="6/8", temperature=0.9,
            top_k=8, top_p=0.95, pitch_range="G3-D6", tempo=110)],
        "folk continues twinkle seed 5": [describe(s) for s in folk.continue_score(str(TWINKLE), bars=2, num=2, seed=5)],
        "folk reel AABB seed 2": [describe(s) for s in folk.sample(num=1, seed=2, style="reel", form="AABB")],
        "folk jig A dorian seed 6": [describe(s) for s in folk.sample(num=1, bars=8, seed=6, style="jig",
                                                                     key="A dorian", temperature=0.9)],
        "folk-large default seed 7": [describe(s) for s in seqart.load("folk-large").sample(num=2, bars=4,
                                                                                         seed=7)],
    }
    vae = seqart.load("folk-vae-2bar")
    out["folk-vae-2bar sample seed 4"] = [describe(s) for s in vae.sample(2, temperature=0.5, seed=4)]
    a, b = vae.sample(2, temperature=0.0, seed=11)
    out["folk-vae-2bar interpolate"] = [describe(s) for s in vae.interpolate(a, b, steps=3)]
    out["folk-vae-2bar vary seed 2"] = [describe(s) for s in vae.vary(a, amount=0.5, num=2, seed=2)]
    out["folk-vae-2bar shift density"] = [describe(vae.shift(a, "density", 1.0))]
    return {**out, **from_folders()}


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(generate(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE}")
