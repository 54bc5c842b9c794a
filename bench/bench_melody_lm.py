"""Held-out NLL of a trained token language model (melody or multi-track event tokens)
against an interpolated Kneser-Ney n-gram baseline.

Both models score the same tokens: every token of every test sequence except the
first (``BOS``), each given all the tokens before it in its sequence, exactly as
a sampler sees them. Figures:

- nats/token: total NLL over all predicted tokens divided by their number;
- nats/note: total NLL of the test split divided by its ``NOTE`` tokens (tokens
  with ``tokenizer.pitch_of(t) is not None``), and the mean over sequences of
  each sequence's total NLL over its notes;
- relative reduction: ``1 - lstm / ngram`` in nats/token (target: at least 15 %).

The neural model is the torch model of ``MODEL_DIR`` (``seqart.models.folder.load_model``,
eval mode), run on whole sequences in batches of similar length, its recurrent
state carried from chunk to chunk across the whole sequence; padding is not
scored. It runs on one torch thread by default: the figures here are NLLs, and
two threads on two busy cores can be a hundred times slower than one.

The baseline (:class:`KneserNeyLM`) is written here in NumPy: *interpolated
modified Kneser-Ney* (Chen & Goodman 1998) by default, or plain interpolated
Kneser-Ney with one discount per order (``--kn plain``). It is fitted on the
corpus's train split and scored on its test split, over token ids. Details:

- the highest order uses raw counts, lower orders continuation counts (the number
  of distinct tokens seen before the n-gram); an n-gram at the start of a
  sequence has no token before it and contributes its raw count instead (as
  KenLM and SRILM treat n-grams starting with ``<s>``);
- every sequence is left-padded with ``order - 2`` start symbols (an id outside
  the vocabulary) before its ``BOS``, so the context of every predicted token has
  ``order - 1`` symbols;
- the unigram level is interpolated with the uniform distribution over the
  vocabulary, so every id has a probability;
- discounts come from the count-of-counts ``n1..n4`` of each order
  (``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 - 2Y n2/n1``, ``D2 = 2 - 3Y n3/n2``,
  ``D3+ = 3 - 4Y n4/n3``, each kept within ``(0, r]``); an order where one of
  ``n1..n4`` is zero (typically the unigrams of a small vocabulary) uses the
  plain discount ``Y`` for all counts (0.5 if ``n1`` or ``n2`` is zero);
- n-grams are packed into int64 codes in base ``vocab_size + 1``, so
  ``(vocab_size + 1) ** order`` must stay below ``2**63``.

A built-in check sums the baseline's distribution over the whole vocabulary for
a few test contexts; the largest deviation from 1 is printed and stored.

Several models (``--model A B ...``) are scored on the same test tunes. A model whose
tokenizer differs from the corpus's (a layout-1 melody model on a layout-2 corpus)
scores the same tunes re-encoded with its own tokenizer (decoded with the
corpus's, encoded with the model's): token counts differ, the notes do not, so
**nats/note** (a tune's total NLL over its notes) is the figure to compare across
tokenizations; the new layout also pays for its style, pickup and section tokens.
``--unseen-by CORPUS`` keeps only the test tunes that are in no train split of
those corpora (matched by source label), so a model trained on an older build
with another split has not seen them either.

A transformer (a model with a bounded ``config.context``) scores a long tune with a
sliding window: every token is predicted from up to ``context`` tokens before it,
in windows overlapping by half a context (only each window's new tokens count).

Usage::

    PYTHONPATH=. python bench/bench_melody_lm.py --model MODEL_DIR [MODEL_DIR ...] --data CORPUS_DIR [--order 5]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Stopwatch, print_table, write_results  # noqa: E402

NAME = "melody_lm"
TARGET_REDUCTION = 0.15


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, nargs="+",
                        help="trained melody model folder(s) (or run folders, or shipped names)")
    parser.add_argument("--unseen-by", nargs="*", default=[],
                        help="built corpora whose train-split tunes (by source label) are left out of the test set")
    parser.add_argument("--data", required=True, help="corpus folder built with the model's tokenizer")
    parser.add_argument("--order", type=int, default=5, help="n-gram order, at least 2 (default 5)")
    parser.add_argument("--kn", choices=("modified", "plain"), default="modified",
                        help="modified (three discounts per order, default) or plain Kneser-Ney")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--name", default=None,
                        help="results file stem (default melody_lm, or events_lm for event tokens)")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences per LSTM batch (default 32)")
    parser.add_argument("--chunk", type=int, default=512, help="LSTM time steps per forward call (default 512)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: steady on a shared machine; 0: torch's default)")
    args = parser.parse_args(argv)
    if args.order < 2:
        parser.error("--order must be at least 2")
    return args


# ------------------------------------------------------------ Kneser-Ney
def discounts(counts: np.ndarray, modified: bool) -> np.ndarray:
    """``[D1, D2, D3+]`` from the count-of-counts of one order (see the module docstring)."""
    n = [int(np.count_nonzero(counts == r)) for r in (1, 2, 3, 4)]
    y = n[0] / (n[0] + 2 * n[1]) if n[0] > 0 and n[1] > 0 else 0.5
    if not modified or min(n) == 0:
        return np.array([y, y, y])
    d = [r - (r + 1) * y * n[r] / n[r - 1] for r in (1, 2, 3)]
    return np.array([min(max(x, 1e-3), float(r)) for r, x in zip((1, 2, 3), d)])


def discount_of(counts: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The discount each count gets: 0 for 0, ``D1``, ``D2``, ``D3+`` for 1, 2, 3 and more."""
    return np.where(counts <= 0, 0.0, d[np.clip(counts, 1, 3) - 1])


def lookup(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``queries`` in the sorted array ``keys`` and whether each was found."""
    if len(keys) == 0:
        return np.zeros(len(queries), dtype=np.int64), np.zeros(len(queries), dtype=bool)
    idx = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return idx, keys[idx] == queries


class KneserNeyLM:
    """Interpolated (modified) Kneser-Ney n-gram language model over token ids.

    Args:
        order: n, the longest n-gram (>= 2).
        vocab_size: token ids are ``0 .. vocab_size - 1``.
        modified: three discounts per order (Chen & Goodman) instead of one.

    Call :meth:`fit` with the training sequences, then :meth:`sequence_nll`.
    """

    def __init__(self, order: int, vocab_size: int, modified: bool = True):
        if order < 2:
            raise ValueError(f"order must be at least 2, got {order}")
        self.order = order
        self.vocab_size = vocab_size
        self.modified = modified
        self.start = vocab_size  # the padding symbol before BOS
        self.base = vocab_size + 1
        if self.base ** order >= 2**63:
            raise ValueError(f"(vocab_size + 1) ** order = {self.base}**{order} does not fit in int64 codes")
        self.levels: list[dict] = []

    # ------------------------------------------------------------ codes
    def gram_codes(self, back: Callable[[int], np.ndarray]) -> list[np.ndarray]:
        """Codes of the 1..n-grams ending at some positions.

        Args:
            back: ``back(t)`` is the array of tokens ``t`` steps before each position
                (``back(0)``: the tokens at the positions themselves).

        Returns:
            ``order`` int64 arrays; entry ``k - 1`` holds the k-gram codes
            ``sum_t back(t) * base**t`` for ``t < k`` (the last token least significant).
        """
        code = np.asarray(back(0), dtype=np.int64).copy()
        codes = [code.copy()]
        for t in range(1, self.order):
            code += np.asarray(back(t), dtype=np.int64) * self.base ** t
            codes.append(code.copy())
        return codes

    def padded(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All sequences left-padded with ``order - 2`` start symbols and concatenated.

        Returns:
            ``(tokens, positions, lengths)``: the padded token array; the index in it
            of every predicted token (all but the first of each sequence), in order;
            the number of predicted tokens per sequence.
        """
        pad = self.order - 2
        pieces, positions, lengths, offset = [], [], [], 0
        for seq in sequences:
            seq = np.asarray(seq, dtype=np.int64)
            pieces.append(np.full(pad, self.start, dtype=np.int64))
            pieces.append(seq)
            positions.append(offset + pad + np.arange(1, len(seq)))
            lengths.append(max(len(seq) - 1, 0))
            offset += pad + len(seq)
        if not pieces:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(pieces), np.concatenate(positions), np.asarray(lengths, dtype=np.int64)

    # -------------------------------------------------------------- fit
    def fit(self, sequences: Sequence[np.ndarray]) -> "KneserNeyLM":
        """Count n-grams of ``sequences`` (1-D token id arrays, each starting with BOS)."""
        tokens, positions, _ = self.padded(sequences)
        codes = self.gram_codes(lambda t: tokens[positions - t])
        grams, counts = np.unique(codes[-1], return_counts=True)
        levels = {self.order: (grams, counts)}
        for k in range(self.order - 1, 0, -1):
            levels[k] = self._continuation_counts(codes[k], k)
        self.levels = [self._level(k, *levels[k]) for k in range(1, self.order + 1)]
        return self

    def _continuation_counts(self, longer: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Kneser-Ney counts of the k-grams from the (k+1)-gram occurrences ``longer``.

        A k-gram counts its distinct left neighbours; occurrences whose left
        neighbour is the start symbol (nothing before them) count one each.
        """
        u, raw = np.unique(longer, return_counts=True)
        scale = self.base ** k
        left, suffix = u // scale, u % scale
        weight = np.where(left == self.start, raw, 1)
        grams, inverse = np.unique(suffix, return_inverse=True)
        return grams, np.bincount(inverse, weights=weight).astype(np.int64)

    def _level(self, k: int, grams: np.ndarray, counts: np.ndarray) -> dict:
        """Lookup tables of order ``k``: sorted grams, their counts and per-context sums."""
        d = discounts(counts, self.modified)
        disc = discount_of(counts, d)
        if k == 1:  # one context: the empty one
            contexts, starts = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        else:  # grams are sorted, so grams sharing a context are adjacent
            contexts, starts = np.unique(grams // self.base, return_index=True)
        return {
            "grams": grams, "counts": counts, "discounts": d, "contexts": contexts,
            "totals": np.add.reduceat(counts, starts).astype(np.float64),
            "backoff": np.add.reduceat(disc, starts),
        }

    # ------------------------------------------------------------ score
    def probability(self, codes: list[np.ndarray]) -> np.ndarray:
        """p(token | context) for the n-gram codes of :meth:`gram_codes`."""
        p = np.full(len(codes[0]), 1.0 / self.vocab_size)
        for k, level in enumerate(self.levels, start=1):
            p = self._interpolate(level, codes[k - 1], p, k)
        return p

    def _interpolate(self, level: dict, codes: np.ndarray, lower: np.ndarray, k: int) -> np.ndarray:
        """One level of interpolated KN: discounted count plus back-off mass times ``lower``."""
        idx, found = lookup(level["grams"], codes)
        counts = np.where(found, level["counts"][idx], 0)
        if k == 1:
            cidx, seen = np.zeros(len(codes), dtype=np.int64), np.ones(len(codes), dtype=bool)
        else:
            cidx, seen = lookup(level["contexts"], codes // self.base)
        totals = np.where(seen, level["totals"][cidx], 1.0)
        mass = np.maximum(counts - discount_of(counts, level["discounts"]), 0.0)
        p = (mass + level["backoff"][cidx] * lower) / totals
        return np.where(seen, p, lower)

    def sequence_nll(self, sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """NLL (nats) of each predicted token and the number predicted per sequence."""
        tokens, positions, lengths = self.padded(sequences)
        p = self.probability(self.gram_codes(lambda t: tokens[positions - t]))
        return -np.log(p), lengths

    def normalization_error(self, sequences: Sequence[np.ndarray], contexts: int = 8) -> float:
        """Largest ``|sum_w p(w | h) - 1|`` over a few contexts ``h`` taken from ``sequences``."""
        tokens, positions, _ = self.padded(sequences)
        picks = positions[np.linspace(0, len(positions) - 1, min(contexts, len(positions))).astype(int)]
        worst, every = 0.0, np.arange(self.vocab_size)
        for pos in picks:
            codes = self.gram_codes(lambda t: every if t == 0 else np.full(self.vocab_size, tokens[pos - t]))
            worst = max(worst, abs(float(self.probability(codes).sum()) - 1.0))
        return worst


# ------------------------------------------------------------------ LSTM
def lstm_nll(model, sequences: Sequence[np.ndarray], batch_size: int, chunk: int) -> np.ndarray:
    """NLL (nats) of each predicted token under a torch LM, flattened in sequence order.

    Sequences are batched by length (longest first), right-padded, and fed in
    chunks of ``chunk`` steps with the recurrent state carried between chunks;
    padded targets are dropped.
    """
    import torch

    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
    per_seq: list[np.ndarray | None] = [None] * len(sequences)
    with torch.inference_mode():
        for a in range(0, len(order), batch_size):
            rows = order[a:a + batch_size]
            for i, nll in zip(rows, batch_nll(model, [sequences[i] for i in rows], chunk)):
                per_seq[i] = nll
    return np.concatenate([x for x in per_seq if x is not None]) if sequences else np.zeros(0)


def batch_nll(model, seqs: list[np.ndarray], chunk: int) -> list[np.ndarray]:
    """Per-token NLL of each sequence of one batch (state carried over the chunks)."""
    import torch
    import torch.nn.functional as F

    lengths = [len(s) for s in seqs]
    batch = torch.zeros(len(seqs), max(lengths), dtype=torch.long)  # (B, L), right-padded
    for row, s in enumerate(seqs):
        batch[row, :len(s)] = torch.from_numpy(np.asarray(s, dtype=np.int64))
    x, y = batch[:, :-1], batch[:, 1:]  # (B, L - 1) each
    context = getattr(getattr(model, "config", None), "context", None)
    if context is not None:  # a transformer: slide a window of its context
        nll = _window_nll(model, x, y, context)
        return [nll[row, :n - 1].astype(np.float64) for row, n in enumerate(lengths)]
    state, parts = None, []
    for a in range(0, x.size(1), chunk):
        logits, state = model(x[:, a:a + chunk], state)  # (B, t, V)
        logp = F.log_softmax(logits.float(), dim=-1)
        parts.append(-logp.gather(-1, y[:, a:a + chunk, None]).squeeze(-1))  # (B, t)
    nll = torch.cat(parts, dim=1).numpy()
    return [nll[row, :n - 1].astype(np.float64) for row, n in enumerate(lengths)]


def _window_nll(model, x, y, context: int) -> np.ndarray:
    """Per-token NLL (B, L) of a model with a bounded context: windows of ``context`` tokens
    with a stride of half of it; each token is scored once, in the first window that
    gives it the most context."""
    import torch
    import torch.nn.functional as F

    length = x.size(1)
    out = torch.zeros(x.shape, dtype=torch.float64)
    stride = max(1, context // 2)
    start, scored = 0, 0
    while scored < length:
        window = x[:, start:start + context]
        logp = F.log_softmax(model(window)[0].float(), dim=-1)
        nll = -logp.gather(-1, y[:, start:start + context, None]).squeeze(-1)  # (B, t)
        out[:, scored:start + window.size(1)] = nll[:, scored - start:].double()
        scored = start + window.size(1)
        start += stride
    return out.numpy()


# --------------------------------------------------------------- figures
def note_mask(tokenizer) -> np.ndarray:
    """Boolean array over token ids: True for NOTE tokens (``pitch_of`` is not None)."""
    if not hasattr(tokenizer, "pitch_of"):
        raise SystemExit(f"error: the {tokenizer.name} tokenizer has no pitch_of(); this benchmark is for token "
                         "language models (melody, events)")
    return np.array([tokenizer.pitch_of(t) is not None for t in range(tokenizer.vocab_size)])


def figures(label: str, nll: np.ndarray, lengths: np.ndarray, notes: np.ndarray, seconds: float) -> dict:
    """nats/token, perplexity and nats/note (pooled and mean over sequences) of one model."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    per_seq = np.add.reduceat(nll, starts) if len(nll) else np.zeros(0)
    has_notes = notes > 0
    per_token = float(nll.sum() / len(nll))
    return {
        "model": label,
        "tokens": int(len(nll)),
        "notes": int(notes.sum()),
        "nats_per_token": per_token,
        "perplexity": math.exp(per_token),
        "nats_per_note": float(nll.sum() / max(notes.sum(), 1)),
        "nats_per_note_mean_seq": float(np.mean(per_seq[has_notes] / notes[has_notes])) if has_notes.any() else None,
        "seconds": seconds,
    }


def recorded_test_loss(model_dir: Path) -> float | None:
    """The test loss the trainer stored in ``eval.json`` next to the weights, if any."""
    path = model_dir / "eval.json"
    try:
        return float(json.loads(path.read_text())["test"]["loss"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_inputs(args: argparse.Namespace):
    """The corpus tokenizer and its train and scored splits (with the source label of each
    scored tune), the ``--unseen-by`` tunes left out."""
    from seqart.corpora import CorpusDataset

    corpus = CorpusDataset.open(args.data)
    seen = set()
    for other in args.unseen_by:
        seen |= {item["source"] for item in CorpusDataset.open(other).items("train")}
    labels = [item["source"] for item in corpus.items(args.split)]
    test = [(np.asarray(s, dtype=np.int64), label) for s, label in zip(corpus.split(args.split), labels)
            if len(s) >= 2 and label not in seen]
    train = [np.asarray(s, dtype=np.int64) for s in corpus.split("train")]
    if not test or not train:
        raise SystemExit(f"error: {args.data} has no train or no {args.split} sequences (after --unseen-by)")
    return corpus.tokenizer, train, [t for t, _ in test]


def model_tokens(corpus_tok, model_tok, test: list[np.ndarray]) -> tuple[list[np.ndarray], bool]:
    """The test tunes in the model's tokens: as they are, or decoded and re-encoded."""
    if model_tok == corpus_tok:
        return test, False
    return [np.asarray(model_tok.encode(corpus_tok.decode(t)), dtype=np.int64) for t in test], True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from seqart.models.folder import load_model, resolve_model

    corpus_tok, train, test = load_inputs(args)
    is_note = note_mask(corpus_tok)
    notes = np.array([int(is_note[s].sum()) for s in test])

    with Stopwatch() as sw:
        kn = KneserNeyLM(args.order, corpus_tok.vocab_size, modified=args.kn == "modified").fit(train)
        kn_nll, lengths = kn.sequence_nll(test)
    ngram = figures(f"{args.kn} KN {args.order}-gram", kn_nll, lengths, notes, sw.seconds)
    rows, eval_losses = [ngram], {}
    for name in args.model:
        folder = resolve_model(name)
        model, tokenizer, _ = load_model(folder)
        model.eval()
        seqs, recoded = model_tokens(corpus_tok, tokenizer, test)
        model_notes = np.array([int(note_mask(tokenizer)[s].sum()) for s in seqs])
        if not np.array_equal(model_notes, notes):
            raise SystemExit(f"error: re-encoding for {name} changed the notes of "
                             f"{int((model_notes != notes).sum())} tunes; nats/note would not compare")
        lstm_nll(model, seqs[:1], 1, args.chunk)  # warm-up: torch's first call sets up its kernels
        with Stopwatch() as sw:
            nn_nll = lstm_nll(model, seqs, args.batch_size, args.chunk)
        row = figures(f"{model.registry_name} ({folder.name}{', re-encoded' if recoded else ''})", nn_nll,
                      np.array([len(s) - 1 for s in seqs]), notes, sw.seconds)
        row["reduction_vs_ngram"] = None if recoded else 1 - row["nats_per_token"] / ngram["nats_per_token"]
        rows.append(row)
        eval_losses[str(folder)] = recorded_test_loss(folder)

    check = kn.normalization_error(test)
    columns = [("model", "model", ""), ("tokens", "tokens", ",d"), ("nats/token", "nats_per_token", ".4f"),
               ("perplexity", "perplexity", ".3f"), ("nats/note", "nats_per_note", ".4f"),
               ("nats/note (mean/seq)", "nats_per_note_mean_seq", ".4f"), ("seconds", "seconds", ".1f")]
    same = [r for r in rows[1:] if r["reduction_vs_ngram"] is not None]
    notes_text = "; ".join(f"{r['model']}: {100 * r['reduction_vs_ngram']:.1f} % "
                           f"({'meets' if r['reduction_vs_ngram'] >= TARGET_REDUCTION else 'misses'})" for r in same)
    print_table(f"Held-out NLL on {args.split}: {len(test)} sequences ({int(notes.sum()):,} notes) of {args.data}",
                columns, rows,
                note=f"reduction against the n-gram in nats/token (same tokens only; target >= "
                     f"{100 * TARGET_REDUCTION:.0f} %): {notes_text or '-'}\n"
                     f"n-gram fitted on {len(train)} train sequences; its distributions sum to 1 within {check:.1e}"
                     + (f"\ntest tunes in a train split of {', '.join(args.unseen_by)} left out" if args.unseen_by
                        else ""))
    best = min(rows[1:], key=lambda r: r["nats_per_note"])
    summary = {"ngram_nats_per_token": ngram["nats_per_token"], "best_model": best["model"],
               "best_nats_per_note": best["nats_per_note"],
               "models": {r["model"]: {"nats_per_note": r["nats_per_note"], "nats_per_token": r["nats_per_token"],
                                       "reduction_vs_ngram": r["reduction_vs_ngram"]} for r in rows[1:]}}
    name = args.name or (NAME if corpus_tok.name == "melody" else f"{corpus_tok.name}_lm")  # events: events_lm.json
    path = write_results(name, vars(args), rows, summary, train_sequences=len(train), test_sequences=len(test),
                         ngram_discounts={k + 1: lvl["discounts"].tolist() for k, lvl in enumerate(kn.levels)},
                         ngram_normalization_error=check, eval_json_test_loss=eval_losses)
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
