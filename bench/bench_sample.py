"""End-to-end latency of ``seqart sample`` (process start to MIDI file written).

Timed as whole processes, ``--runs`` times each (interleaved, after one untimed
warm-up run of each so the file cache is warm and seqart's bytecode is cached, as
an installed package has it), run from the repository root:

- ``python -c pass``: the interpreter alone;
- ``python -c "import torch"``: what importing torch alone costs;
- ``python cli.py sample MODEL -o OUT.mid --bars 16 --seed i --force``: the command
  a user types; the time runs until the process has exited (the file is written
  before it exits, and is checked);
- the torch path: a process that imports torch, loads the same model folder with
  ``load_model`` and runs the same sampler with the torch model behind it (one thread);
- ``seqart sample ... --num 64``: 64 melodies of the same length in one batch (the
  summary gives its cost over one sample's, each less the bare interpreter);
- ``seqart sample`` with busy cores: the same command while ``--busy`` other
  processes (default: as many as the machine has cores) spin on the CPU, as a
  playing DAW or a training run would keep them; sampling holds NumPy's BLAS to one
  thread so it does not wait for a free core.

Beside them, a fresh process times the same work in-process with
``time.perf_counter``: importing ``seqart.cli``, importing the loader
(:mod:`seqart.models.loading`; the phase keeps its earlier name ``import
seqart.generate`` so results files stay comparable), ``load_generator(MODEL)``,
sampling one 16-bar melody, and writing the MIDI file; it also notes whether torch
got imported on the way. Phases are medians over ``--runs`` processes.

MODEL is a shipped model name (default ``folk``) or a model/run folder.

Usage::

    PYTHONPATH=. python bench/bench_sample.py [--model folk] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO_ROOT, print_table, spread, write_results  # noqa: E402

NAME = "sample"
PHASES = ("import seqart.cli", "import seqart.generate", "load_generator", "sample", "write MIDI")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="folk", help="shipped model name or model folder (default folk)")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command (default 10)")
    parser.add_argument("--bars", type=int, default=16, help="bars to sample (default 16)")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2,
                        help="busy processes for the loaded case (default: one per core; 0 skips it)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to time (default: this one)")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "OUT", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--torch-child", nargs=3, metavar=("MODEL", "OUT", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


# ------------------------------------------------------- in-process child
def breakdown(model: str, out: str, seed: int, bars: int) -> dict:
    """Seconds of each phase of ``seqart sample`` in this (fresh) process."""
    times = {}
    start = time.perf_counter()
    import seqart.cli  # noqa: F401

    times[PHASES[0]] = time.perf_counter() - start
    mark = time.perf_counter()
    from seqart.models.loading import load_generator

    times[PHASES[1]] = time.perf_counter() - mark
    mark = time.perf_counter()
    generator = load_generator(model)
    times[PHASES[2]] = time.perf_counter() - mark
    mark = time.perf_counter()
    score = generator.sample(num=1, bars=bars, seed=seed)[0]
    times[PHASES[3]] = time.perf_counter() - mark
    mark = time.perf_counter()
    score.write(out)
    times[PHASES[4]] = time.perf_counter() - mark
    return {"phases": times, "total": time.perf_counter() - start, "torch_imported": "torch" in sys.modules,
            "notes": score.num_notes}


# ------------------------------------------------------------- processes
def child_env(pycache: Path) -> dict:
    """This environment with the repository root first on PYTHONPATH, and Python's
    bytecode cached under ``pycache`` (written by the warm-up run), as a package
    installed by pip has it (pip compiles on install): a checkout run with
    PYTHONDONTWRITEBYTECODE set would compile every seqart module on every start,
    about 50 ms that no installed copy pays."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def timed_process(cmd: list[str], env: dict) -> tuple[float, str]:
    """Wall seconds from spawning ``cmd`` (in the repository root) to its exit, and its stdout.

    Raises:
        RuntimeError: with the command's stderr if it fails.
    """
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}:\n{done.stderr.strip()}")
    return seconds, done.stdout


def commands(args: argparse.Namespace, out: Path) -> dict:
    """name -> function of the run index returning the argv to time."""
    py = args.python
    return {
        "python -c pass": lambda i: [py, "-c", "pass"],
        'python -c "import torch"': lambda i: [py, "-c", "import torch"],
        f"seqart sample ({args.bars} bars)": lambda i: [py, "cli.py", "sample", args.model, "-o", str(out),
                                                      "--bars", str(args.bars), "--seed", str(i), "--force"],
        f"torch path ({args.bars} bars)": lambda i: [py, str(Path(__file__).resolve()), "--bars", str(args.bars),
                                                   "--torch-child", args.model, str(out), str(i)],
        f"seqart sample --num 64 ({args.bars} bars)": lambda i: [
            py, "cli.py", "sample", args.model, "-o", str(out.parent / "batch") + "/", "--num", "64",
            "--bars", str(args.bars), "--seed", str(i), "--force"],
    }


class TorchLM:
    """The torch model behind the NumPy sampler's interface (``initial_state``, ``step``,
    ``run``), for timing the torch path of the same sampling code."""

    def __init__(self, model):
        self.model = model
        #: a transformer has no recurrent state: the tokens so far are its state, and each
        #: step runs the model over the last ``context`` of them (no key/value cache)
        self.context = getattr(model.config, "context", None)

    def initial_state(self, batch: int):
        import numpy as np

        if self.context is not None:
            return np.zeros((batch, 0), np.int64)
        L, H = self.model.config.num_layers, self.model.config.hidden_size
        return [(np.zeros((batch, H), np.float32), np.zeros((batch, H), np.float32)) for _ in range(L)]

    def _call(self, tokens, state):
        """Run the torch model on ``tokens`` (B, T) from a state in the sampler's layout
        (per layer ``(h, c)``, each ``(B, H)`` NumPy) and return it in that layout."""
        import numpy as np
        import torch

        if self.context is not None:
            seen = np.concatenate([state, np.asarray(tokens, dtype=np.int64)], axis=1)
            with torch.no_grad():
                logits, _ = self.model(torch.from_numpy(seen[:, -self.context:]))
            return logits[:, -1].numpy(), seen
        h = torch.from_numpy(np.stack([hc[0] for hc in state]))
        c = torch.from_numpy(np.stack([hc[1] for hc in state]))
        with torch.no_grad():
            logits, (h, c) = self.model(torch.as_tensor(np.asarray(tokens), dtype=torch.long), (h, c))
        return logits[:, -1].numpy(), [(h[i].numpy(), c[i].numpy()) for i in range(h.size(0))]

    def step(self, tokens, state):
        import numpy as np

        return self._call(np.asarray(tokens).reshape(-1, 1), state)

    def run(self, tokens, state=None):
        import numpy as np

        tokens = np.atleast_2d(tokens)
        return self._call(tokens, self.initial_state(tokens.shape[0]) if state is None else state)


def torch_sample(model: str, out: str, seed: int, bars: int) -> None:
    """Sample one melody through torch (the model as trained) and write it: the torch
    path a NumPy-free build would take."""
    import torch

    from seqart.generate.melody import MelodySampler
    from seqart.models.folder import load_model
    from seqart.models.loading import load_generator

    torch.set_num_threads(1)
    net, tokenizer, _ = load_model(model)
    generator = load_generator(resolve(model))  # the facade, with the torch model put behind it
    generator.lm = TorchLM(net.float())
    generator._sampler = MelodySampler(generator.lm, tokenizer, generator._sampler.openings)
    generator.sample(num=1, bars=bars, seed=seed)[0].write(out)


def run_all(args: argparse.Namespace, tmp: Path) -> tuple[dict, list[dict]]:
    """Timings of every command and the in-process breakdowns (warm-up run first)."""
    env = child_env(tmp / "pycache")
    out = tmp / "sample.mid"
    cmds = commands(args, out)
    script = str(Path(__file__).resolve())
    times: dict[str, list[float]] = {name: [] for name in cmds}
    breakdowns = []
    for i in range(-1, args.runs):  # run -1 is the warm-up
        for name, make in cmds.items():
            out.unlink(missing_ok=True)
            seconds, _ = timed_process(make(max(i, 0)), env)
            if name.startswith(("seqart sample (", "torch path")) and not out.is_file():
                raise RuntimeError(f"seqart sample wrote no {out}")
            if i >= 0:
                times[name].append(seconds)
        child = [args.python, script, "--bars", str(args.bars), "--child", args.model, str(tmp / "child.mid"),
                 str(max(i, 0))]
        _, stdout = timed_process(child, env)
        if i >= 0:
            breakdowns.append(json.loads(stdout))
    if args.busy:
        loaded = f"seqart sample ({args.bars} bars), {args.busy} busy core(s)"
        times[loaded] = []
        spinners = [subprocess.Popen([args.python, "-c", "while True: pass"]) for _ in range(args.busy)]
        try:
            time.sleep(0.5)
            for i in range(args.runs):
                out.unlink(missing_ok=True)
                times[loaded].append(timed_process(cmds[f"seqart sample ({args.bars} bars)"](i), env)[0])
        finally:
            for p in spinners:
                p.kill()
                p.wait()
    return times, breakdowns


# ------------------------------------------------------------------ main
def phase_rows(breakdowns: list[dict]) -> list[dict]:
    """Median seconds of each in-process phase and its share of the in-process total."""
    total = statistics.median(b["total"] for b in breakdowns)
    rows = []
    for phase in PHASES:
        seconds = statistics.median(b["phases"][phase] for b in breakdowns)
        rows.append({"phase": phase, "seconds": seconds, "share_pct": 100 * seconds / total})
    rows.append({"phase": "total (in-process)", "seconds": total, "share_pct": 100.0})
    return rows


def resolve(model: str) -> Path:
    """The model folder, or exit with a hint when the shipped model does not exist yet."""
    from seqart.errors import ModelError
    from seqart.models.folder import resolve_model

    try:
        return resolve_model(model)
    except ModelError as exc:
        raise SystemExit(f"error: {exc}\n(pass a trained model folder with --model PATH)") from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.torch_child:
        model, out, seed = args.torch_child
        torch_sample(model, out, int(seed), args.bars)
        return 0
    if args.child:
        model, out, seed = args.child
        print(json.dumps(breakdown(model, out, int(seed), args.bars)))
        return 0
    folder = resolve(args.model)
    with tempfile.TemporaryDirectory(prefix="seqart-bench-sample-") as tmp:
        times, breakdowns = run_all(args, Path(tmp))
    rows = [{"command": name, **spread(samples)} for name, samples in times.items()]
    phases = phase_rows(breakdowns)
    print_table(f"Process wall time, {args.runs} runs each",
                [("command", "command", ""), ("median s", "median", ".3f"), ("min s", "min", ".3f"),
                 ("max s", "max", ".3f")], rows,
                note=f"model: {folder}\n"
                     "MEASUREMENTS.md: import torch 2.1 s, music21 0.64 s, typer 0.14 s (whole process).")
    torch_note = "torch was imported" if any(b["torch_imported"] for b in breakdowns) else "torch was not imported"
    sample_row = rows[2]
    rest = sample_row["median"] - rows[0]["median"] - phases[-1]["seconds"]
    print_table("In-process breakdown (median over runs)",
                [("phase", "phase", ""), ("seconds", "seconds", ".3f"), ("share %", "share_pct", ".1f")], phases,
                note=f"{torch_note}; {breakdowns[0]['notes']} notes in the first melody.\n"
                     f"seqart sample minus python -c pass minus the in-process total: {rest:.3f} s "
                     "(Typer parsing, what the command does besides, interpreter exit)")
    summary = {"sample_median_s": sample_row["median"], "import_torch_median_s": rows[1]["median"],
               "torch_path_median_s": rows[3]["median"], "num64_median_s": rows[4]["median"],
               "num64_over_one": (rows[4]["median"] - rows[0]["median"]) / (sample_row["median"] - rows[0]["median"]),
               "unaccounted_s": rest,
               "busy_sample_median_s": rows[5]["median"] if len(rows) > 5 else None,
               "interpreter_median_s": rows[0]["median"],
               "torch_imported": any(b["torch_imported"] for b in breakdowns)}
    settings = {k: v for k, v in vars(args).items() if k not in ("child", "torch_child")}
    path = write_results(NAME, {**settings, "model_folder": str(folder)}, rows, summary, phases=phases,
                         breakdowns=breakdowns)
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
