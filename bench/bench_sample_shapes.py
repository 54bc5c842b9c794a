"""How fast a smaller melody transformer would sample: the shipped model cut to other shapes.

``seqart sample`` spends most of its time in the NumPy transformer's steps (one per
grid step and bar line, 274 for 16 bars of 4/4, some of them for 4 or 8 candidates),
and each step reads every weight once, so its cost follows the weights' size. To
choose the size of the next model before training it, this benchmark times the
sampling phase (``sample(1, bars=16)`` in process, after one untimed melody) of the
shipped transformer and of copies cut to each ``--shapes`` entry: the first
``LAYERS`` blocks, every width sliced to ``D`` (the feed-forward width and the
head count scaled alike). The cut copies' weights are slices of trained ones, so
their melodies mean nothing; the number of steps (the grid) is the same, so their
timings are what a trained model of that shape would take. ``--trained`` adds rows
for trained models as they are (a pruned or distilled candidate, say), whose
melodies, and so whose candidate and pickup steps, are their own. Loading and
process start come on top (``bench/bench_sample.py``).

Usage::

    PYTHONPATH=. python bench/bench_sample_shapes.py [--model folk-large] [--shapes 3x256,4x192,3x192,4x128]
        [--trained FOLDER,...] [--runs 8] [--bars 16]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, spread, write_results  # noqa: E402

NAME = "sample_shapes"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="folk-large",
                        help="shipped model name or model folder of a melody transformer (default folk-large)")
    parser.add_argument("--shapes", default="3x256,4x192,3x192,4x128",
                        help="comma-separated LAYERSxD shapes to cut the model to (default 3x256,4x192,3x192,4x128)")
    parser.add_argument("--trained", default="",
                        help="comma-separated trained melody transformers (folders or names) to time as they are")
    parser.add_argument("--runs", type=int, default=8, help="timed melodies per shape (default 8, seeds 0 to N-1)")
    parser.add_argument("--bars", type=int, default=16, help="bars per melody (default 16)")
    args = parser.parse_args(argv)
    try:
        args.shape_list = [tuple(int(x) for x in s.lower().split("x")) for s in args.shapes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--shapes: not LAYERSxD pairs: {args.shapes!r}")
    if any(len(s) != 2 or min(s) < 1 for s in args.shape_list):
        parser.error(f"--shapes: not LAYERSxD pairs: {args.shapes!r}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def cut(folder: Path, out: Path, layers: int, width: int) -> dict:
    """Copy the model folder ``folder`` to ``out`` with its transformer cut to ``layers``
    blocks of width ``width`` (every axis of the model's width, three times it or its
    feed-forward width sliced to the new one's); returns the new config."""
    from safetensors.numpy import load_file, save_file

    from seqart.models.folder import read_config

    shutil.copytree(folder, out)
    meta = read_config(folder)
    config = meta["config"]
    if meta.get("model") != "melody-transformer":
        raise SystemExit(f"error: {folder} holds a {meta.get('model')}, not a melody-transformer")
    d, ff, heads = config["d_model"], config["ff_dim"], config["num_heads"]
    if width > d or layers > config["num_layers"]:
        raise SystemExit(f"error: {layers}x{width} is larger than the model ({config['num_layers']}x{d})")
    new_heads = max(1, heads * width // d)
    if width % new_heads or (width // new_heads) % 2:
        raise SystemExit(f"error: width {width} does not split into {new_heads} heads of an even size")
    new_ff = ff * width // d
    sizes = {d: width, 3 * d: 3 * width, ff: new_ff}
    weights = {}
    for name, w in load_file(str(folder / "model.safetensors")).items():
        if name.startswith("blocks.") and int(name.split(".")[1]) >= layers:
            continue
        weights[name] = w[tuple(slice(0, sizes.get(n, n)) for n in w.shape)].copy()
    save_file(weights, str(out / "model.safetensors"))
    config.update(num_layers=layers, d_model=width, ff_dim=new_ff, num_heads=new_heads)
    (out / "config.json").write_text(json.dumps(meta, indent=2))
    return config


def time_sampling(folder: Path, runs: int, bars: int) -> tuple[dict, int]:
    """Seconds to sample one melody of ``bars`` bars (seeds 0 to runs - 1, after one
    untimed melody), and the model's parameter count (from its config's tensor shapes)."""
    import math

    from seqart.models.folder import read_config
    from seqart.models.loading import load_generator
    from seqart.models.melody_transformer.numpy_transformer import expected_shapes

    generator = load_generator(str(folder))
    generator.sample(1, seed=runs, bars=bars)
    times = []
    for seed in range(runs):
        start = time.perf_counter()
        generator.sample(1, seed=seed, bars=bars)
        times.append(time.perf_counter() - start)
    config = read_config(folder)["config"]
    tied = config.get("tie_weights", True)  # a tied head is the embedding, stored once
    params = sum(math.prod(shape) for name, shape in expected_shapes(config).items()
                 if not (tied and name == "head.weight"))
    return spread(times), int(params)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from seqart.models.folder import read_config, resolve_model, shipped_models

    folder = resolve_model(args.model)
    config = read_config(folder)["config"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        shapes = [("shipped" if args.model in shipped_models() else "given", None)] + [
            (f"{layers}x{width}", (layers, width)) for layers, width in args.shape_list]
        for label, shape in shapes:
            target = folder if shape is None else Path(tmp) / label
            cfg = config if shape is None else cut(folder, target, *shape)
            timing, params = time_sampling(target, args.runs, args.bars)
            rows.append({"shape": label, "layers": cfg["num_layers"], "d_model": cfg["d_model"],
                         "ff_dim": cfg["ff_dim"], "heads": cfg["num_heads"], "params": params, **timing})
        for name in filter(None, (m.strip() for m in args.trained.split(","))):
            target = resolve_model(name)
            cfg = read_config(target)["config"]
            timing, params = time_sampling(target, args.runs, args.bars)
            rows.append({"shape": name, "layers": cfg["num_layers"], "d_model": cfg["d_model"],
                         "ff_dim": cfg["ff_dim"], "heads": cfg["num_heads"], "params": params, **timing})
    base = rows[0]["median"]
    for row in rows:
        row["ratio"] = row["median"] / base
    print_table(f"Sampling one {args.bars}-bar melody in process, {args.model} cut to other shapes "
                f"({args.runs} runs each)",
                [("shape", "shape", ""), ("layers", "layers", ""), ("d_model", "d_model", ""), ("ff", "ff_dim", ""),
                 ("heads", "heads", ""), ("params", "params", ",d"), ("median s", "median", ".3f"),
                 ("min s", "min", ".3f"), ("max s", "max", ".3f"), ("vs first", "ratio", ".2f")], rows,
                note="cut copies: slices of the trained weights (timing only, their melodies mean nothing); "
                     "process start, imports and loading come on top (bench/bench_sample.py)")
    settings = {k: v for k, v in vars(args).items() if k != "shape_list"}
    summary = {row["shape"]: row["median"] for row in rows}
    print(f"figures written to {write_results(NAME, settings, rows, summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
