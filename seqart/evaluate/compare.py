"""Judging generated pieces against a reference set.

Three questions, three answers:

- *Do the samples sound like the reference?* Each metric of
  :mod:`seqart.evaluate.metrics` is computed on every sample and every reference
  piece; the two distributions are summarised (mean, standard deviation) and
  compared by their overlap area (1 = identical distributions, 0 = disjoint).
- *Do the samples have the reference's form?* Each form metric of
  :mod:`seqart.evaluate.form` (repeated bars, restated phrases, cadences, the
  ending) is averaged over the samples and over the reference.
- *Do the samples copy the reference?* For each sample, the longest run of
  consecutive notes it shares with any reference piece, compared by pitch
  interval and inter-onset interval (so a transposed copy counts). Runs of
  :data:`FLAG_NOTES` notes or more are flagged.

>>> ref = load_reference("corpora/folk_melody")          # a built corpus folder
>>> report = evaluate(samples, ref)
>>> [m.overlap for m in report.metrics], [r.notes for r in report.memorisation]
>>> {f.name: f.difference for f in report.form}
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from seqart.errors import CorpusError, ScoreReadError, SeqartError, TokenizerError
from seqart.evaluate.form import FORM_METRICS, form_values
from seqart.evaluate.metrics import METRICS, Piece
from seqart.score import Score

#: Reference pieces whose metrics describe the reference distribution (a deterministic sample).
DEFAULT_MAX_REFERENCE = 2000
#: A sample sharing a run of this many consecutive notes with the reference is flagged.
FLAG_NOTES = 16
#: Index seeds are runs of this many transitions (SEED + 1 notes); shorter shared runs are not found.
SEED = 8
#: Inter-onset intervals are compared on a grid of this many steps per beat.
IOI_STEPS_PER_BEAT = 48


# ------------------------------------------------------------------ reading
@dataclass
class Reference:
    """The reference set samples are compared with.

    Attributes:
        name: what was read (a folder, file or corpus folder).
        scores: every reference piece; the memorisation check searches all of them.
        labels: one label per piece: ``file``, ``file#N`` for a tune book, or the
            source of a corpus item.
        metric_indices: indices into ``scores`` of the pieces whose metrics make up
            the reference distribution (all of them, or a deterministic sample of
            ``max_pieces``).
        skipped: ``"path: reason"`` for each reference file that could not be read.
    """

    name: str
    scores: list[Score]
    labels: list[str]
    metric_indices: list[int]
    skipped: list[str] = field(default_factory=list)

    @property
    def metric_scores(self) -> list[Score]:
        """The pieces whose metrics describe the reference distribution."""
        return [self.scores[i] for i in self.metric_indices]


def _sample_indices(n: int, max_pieces: int | None, seed: int = 0) -> list[int]:
    """Up to ``max_pieces`` of ``range(n)``, drawn without replacement with a fixed seed, sorted."""
    if max_pieces is None or n <= max_pieces:
        return list(range(n))
    return sorted(int(i) for i in np.random.default_rng(seed).choice(n, size=max_pieces, replace=False))


def load_reference(source: str | Path, max_pieces: int | None = DEFAULT_MAX_REFERENCE) -> Reference:
    """Read a reference set.

    Args:
        source: a built corpus folder (one holding ``manifest.json``: its train
            split is decoded with the corpus tokenizer), a folder of MIDI, MusicXML
            or ABC files (searched recursively), or one such file.
        max_pieces: at most this many pieces (a fixed-seed sample) describe the
            metric distribution; None for all. The memorisation check always
            searches every piece.

    Raises:
        CorpusError: one line, for a built-in corpus name (build it first), a
            source with no readable music, or a damaged corpus folder.
        SeqartError: for ``max_pieces`` < 1.
    """
    from seqart.corpora.layout import MANIFEST_NAME
    from seqart.corpora.registry import BUILTINS, resolve_source

    if max_pieces is not None and max_pieces < 1:
        raise SeqartError(f"--max-reference must be at least 1, got {max_pieces}")
    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir() and (path / MANIFEST_NAME).is_file():
        return _load_corpus(path, max_pieces)
    if text in BUILTINS and not path.exists():
        raise CorpusError(
            f"{text!r} is a built-in corpus; build it first ('seqart corpus build {text} -o DIR', slow once) "
            f"and pass the folder: --reference DIR"
        )
    resolved = resolve_source(text)
    if resolved.kind == "mat":
        raise CorpusError(f"{resolved.name}: a .mat benchmark cannot be a reference; "
                          f"build a corpus from it ('seqart corpus build') and pass that folder")
    scores, labels, skipped = [], [], []
    for file in resolved.files:
        try:
            found = Score.read_all(file)
        except ScoreReadError as exc:
            skipped.append(str(exc))
            continue
        name = resolved.label(file)
        for i, score in enumerate(found):
            scores.append(score)
            labels.append(f"{name}#{i + 1}" if len(found) > 1 else name)
    if not scores:
        raise CorpusError(f"{resolved.name}: no readable music for a reference ({skipped[0] if skipped else 'no files'})")
    return Reference(resolved.name, scores, labels, _sample_indices(len(scores), max_pieces), skipped)


def _load_corpus(folder: Path, max_pieces: int | None) -> Reference:
    from seqart.corpora.dataset import CorpusDataset

    ds = CorpusDataset.open(folder)
    sequences = ds.split("train")
    items = ds.items("train")
    if not sequences:
        raise CorpusError(f"{folder}: the corpus has no train sequences to compare with")
    tokenizer = ds.tokenizer
    scores, labels, skipped = [], [], []
    for seq, item in zip(sequences, items):
        label = item.get("source") or item.get("title") or f"item {len(labels)}"
        try:
            scores.append(tokenizer.decode(np.asarray(seq)))
        except TokenizerError as exc:
            skipped.append(f"{label}: {exc}")
            continue
        labels.append(label)
    if not scores:
        raise CorpusError(f"{folder}: no train sequence could be decoded ({skipped[0]})")
    return Reference(str(folder), scores, labels, _sample_indices(len(scores), max_pieces), skipped)


def load_scores(paths: Sequence[str | Path]) -> tuple[list[Score], list[str]]:
    """Read the pieces to judge: files (every tune of an ABC book) and folders (recursively).

    Returns:
        ``(scores, labels)``: labels are the paths as given, with ``#N`` for the
        N-th tune of a multi-tune file.

    Raises:
        ScoreReadError: for a missing or unreadable file.
        CorpusError: for a folder without music files, or no paths at all.
    """
    from seqart.corpora.registry import music_extensions, scan_folder

    scores, labels = [], []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            files = scan_folder(path)
            if not files:
                raise CorpusError(f"no music files in {path} (looked recursively for {', '.join(music_extensions())})")
        else:
            files = [path]
        for file in files:
            found = Score.read_all(file)
            for i, score in enumerate(found):
                scores.append(score)
                labels.append(f"{file}#{i + 1}" if len(found) > 1 else str(file))
    if not scores:
        raise CorpusError("no samples to evaluate")
    return scores, labels


# ------------------------------------------------------------------ metrics
def metric_values(scores: Sequence[Score | Piece]) -> dict[str, np.ndarray]:
    """Every metric of every score: name -> shape ``(len(scores),)`` float64 (``nan`` where undefined)."""
    table = {name: np.empty(len(scores)) for name in METRICS}
    for i, score in enumerate(scores):
        piece = Piece.of(score)
        for name, fn in METRICS.items():
            table[name][i] = fn(piece)
    return table


def overlap_area(a: Sequence[float], b: Sequence[float], points: int = 2048) -> float:
    """Overlap area of two empirical distributions: the integral of the smaller density, 0-1.

    Densities are Gaussian kernel density estimates (Scott's bandwidth). When
    either set is constant (a KDE needs spread) or has a single value, normalised
    histograms on shared bins are compared instead. ``nan`` values are ignored.

    Args:
        a, b: the two samples of one metric.
        points: integration grid size.

    Returns:
        1.0 for identical distributions, 0.0 for disjoint ones, ``nan`` if either
        set has no finite value.
    """
    from scipy.integrate import trapezoid
    from scipy.stats import gaussian_kde

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not len(a) or not len(b):
        return math.nan
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return 1.0  # every value of both sets is the same
    if min(len(a), len(b)) < 2 or np.ptp(a) <= 1e-12 or np.ptp(b) <= 1e-12:
        return _histogram_overlap(a, b, lo, hi)
    try:
        ka, kb = gaussian_kde(a), gaussian_kde(b)
    except (np.linalg.LinAlgError, ValueError):
        return _histogram_overlap(a, b, lo, hi)
    pad = 5.0 * math.sqrt(max(ka.covariance[0, 0], kb.covariance[0, 0]))
    grid = np.linspace(lo - pad, hi + pad, points)
    area = trapezoid(np.minimum(ka(grid), kb(grid)), grid)
    return float(np.clip(area, 0.0, 1.0))


def _histogram_overlap(a: np.ndarray, b: np.ndarray, lo: float, hi: float) -> float:
    bins = int(np.clip(math.sqrt(len(a) + len(b)), 10, 50))
    edges = np.linspace(lo, hi, bins + 1)
    pa = np.histogram(a, edges)[0] / len(a)
    pb = np.histogram(b, edges)[0] / len(b)
    return float(np.minimum(pa, pb).sum())


@dataclass
class MetricComparison:
    """One metric over the samples and over the reference (``nan`` statistics where undefined).

    Attributes:
        name: the metric (a key of :data:`seqart.evaluate.metrics.METRICS`).
        sample_mean, sample_std: over the samples where the metric is defined.
        reference_mean, reference_std: over the reference pieces.
        overlap: overlap area of the two distributions, 0-1 (see :func:`overlap_area`).
        sample_n, reference_n: pieces where the metric is defined.
    """

    name: str
    sample_mean: float
    sample_std: float
    reference_mean: float
    reference_std: float
    overlap: float
    sample_n: int
    reference_n: int


def _mean_std(values: np.ndarray) -> tuple[float, float, int]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return math.nan, math.nan, 0
    return float(finite.mean()), float(finite.std()), len(finite)


def compare_metrics(samples: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> list[MetricComparison]:
    """Compare two :func:`metric_values` tables, metric by metric, in :data:`METRICS` order."""
    rows = []
    for name in METRICS:
        sm, ss, sn = _mean_std(samples[name])
        rm, rs, rn = _mean_std(reference[name])
        rows.append(MetricComparison(name, sm, ss, rm, rs, overlap_area(samples[name], reference[name]), sn, rn))
    return rows


@dataclass
class FormComparison:
    """One form metric (:data:`seqart.evaluate.form.FORM_METRICS`): its mean over the samples and the reference.

    Attributes:
        name: the metric.
        sample_mean, reference_mean: over the pieces where it is defined (a 1/0
            flag's mean is the share of pieces); ``nan`` where none defines it.
        difference: ``sample_mean - reference_mean``.
        sample_n, reference_n: pieces where the metric is defined.
    """

    name: str
    sample_mean: float
    reference_mean: float
    difference: float
    sample_n: int
    reference_n: int


def compare_form(samples: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> list[FormComparison]:
    """Compare two :func:`seqart.evaluate.form.form_values` tables, in :data:`FORM_METRICS` order."""
    rows = []
    for name in FORM_METRICS:
        sm, _, sn = _mean_std(samples[name])
        rm, _, rn = _mean_std(reference[name])
        rows.append(FormComparison(name, sm, rm, sm - rm, sn, rn))
    return rows


# ------------------------------------------------------------ memorisation
_SEPARATOR = np.int64(1) << 62  # between pieces in the index; never a transition code
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def melody_codes(score: Score | Piece) -> np.ndarray:
    """The top line as transition codes, transposition-invariant.

    One code per pair of consecutive onsets of the top line (the highest note at
    each onset): the pitch interval in semitones and the inter-onset interval in
    beats (on a grid of :data:`IOI_STEPS_PER_BEAT` steps) packed into one integer.
    Two melodies share a run of ``k + 1`` notes exactly when their codes share a
    run of ``k`` codes.

    Returns:
        shape ``(notes - 1,)`` int64 codes (empty for fewer than two onsets).
    """
    onsets, pitch = Piece.of(score).top_line()
    if len(pitch) < 2:
        return np.zeros(0, dtype=np.int64)
    interval = np.clip(np.diff(pitch), -127, 127) + 128
    ioi = np.clip(np.round(np.diff(onsets) * IOI_STEPS_PER_BEAT), 0, (1 << 24) - 1).astype(np.int64)
    return (interval.astype(np.int64) << 24) | ioi


def _seed_hashes(codes: np.ndarray, seed: int) -> np.ndarray:
    """Shape ``(len(codes) - seed + 1,)`` uint64 hash of every window of ``seed`` codes."""
    n = len(codes) - seed + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    c = codes.astype(np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(seed):  # polynomial hash; uint64 arithmetic wraps around
        h = h * _HASH_MULTIPLIER + c[j:j + n]
    return h


@dataclass
class SharedRun:
    """The longest run of consecutive notes a sample shares with the reference.

    Attributes:
        sample: the sample's label.
        notes: length of the run in notes (matching pitch intervals and inter-onset
            intervals, so transposed copies count); 0 when no run of
            ``seed + 1`` notes (9 by default) is shared.
        reference: label of the reference piece holding the run ('' if none).
        sample_note: index of the run's first note in the sample's top line (-1 if none).
        reference_note: index of its first note in the reference piece's top line (-1 if none).
        flagged: ``notes`` >= the flag threshold (a likely copy).
    """

    sample: str
    notes: int
    reference: str = ""
    sample_note: int = -1
    reference_note: int = -1
    flagged: bool = False


class MelodyIndex:
    """Every run of ``seed`` consecutive transitions of a set of melodies, hashed for lookup.

    Finds the longest run a query melody shares with any indexed one by
    seed-and-extend: every window of ``seed`` codes of the query is looked up
    (binary search in the sorted hashes, then an exact comparison), and matches
    on the same diagonal are chained. Building takes about a second per million
    notes; a query takes milliseconds.

    Args:
        scores: the melodies to index (their top lines; see :func:`melody_codes`).
        labels: one label per score (default: its index as text).
        seed: seed length in transitions; runs shorter than ``seed + 1`` notes are not found.
    """

    def __init__(self, scores: Sequence[Score | Piece], labels: Sequence[str] | None = None, seed: int = SEED):
        if seed < 1:
            raise SeqartError(f"seed must be at least 1, got {seed}")
        self.seed = seed
        self.labels = list(labels) if labels is not None else [str(i) for i in range(len(scores))]
        parts, offsets, at = [], [], 0
        for score in scores:
            codes = melody_codes(score)
            offsets.append(at)
            parts.extend((codes, np.array([_SEPARATOR], dtype=np.int64)))
            at += len(codes) + 1
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        hashes = _seed_hashes(self.codes, seed)
        is_sep = np.concatenate([[0], np.cumsum(self.codes == _SEPARATOR)])
        clean = np.flatnonzero(is_sep[seed:seed + len(hashes)] == is_sep[:len(hashes)])
        order = np.argsort(hashes[clean], kind="stable")  # stable: positions stay ascending per hash
        self._hashes = hashes[clean][order]
        self._positions = clean[order]

    def __len__(self) -> int:
        return len(self.offsets)

    def longest_run(self, score: Score | Piece, label: str = "", flag_notes: int = FLAG_NOTES) -> SharedRun:
        """The longest run of consecutive notes ``score``'s top line shares with an indexed melody."""
        query = melody_codes(score)
        k = self.seed
        hashes = _seed_hashes(query, k)
        lo = np.searchsorted(self._hashes, hashes, side="left")
        hi = np.searchsorted(self._hashes, hashes, side="right")
        steps = np.arange(k)
        best, best_i, best_j = 0, -1, -1
        prev_j = prev_len = np.zeros(0, dtype=np.int64)
        for i in range(len(hashes)):
            j = self._positions[lo[i]:hi[i]]
            if len(j):  # exact check: a hash collision never counts as a match
                j = j[(self.codes[j[:, None] + steps] == query[i:i + k]).all(axis=1)]
            if not len(j):
                prev_j = prev_len = np.zeros(0, dtype=np.int64)
                continue
            run = np.ones(len(j), dtype=np.int64)
            if len(prev_j):  # extend the runs that matched at (i - 1, j - 1)
                at = np.minimum(np.searchsorted(prev_j, j - 1), len(prev_j) - 1)
                hit = prev_j[at] == j - 1
                run[hit] = prev_len[at[hit]] + 1
            top = int(run.argmax())
            if run[top] > best:
                best, best_i, best_j = int(run[top]), i, int(j[top])
            prev_j, prev_len = j, run
        if not best:
            return SharedRun(label, 0)
        notes = best + k  # best windows of k transitions, overlapping: best + k - 1 transitions
        start = best_j - best + 1
        piece = int(np.searchsorted(self.offsets, start, side="right") - 1)
        return SharedRun(label, notes, self.labels[piece], best_i - best + 1, start - int(self.offsets[piece]),
                         notes >= flag_notes)


# ------------------------------------------------------------------ report
@dataclass
class Evaluation:
    """What :func:`evaluate` found.

    Attributes:
        reference: the reference's name.
        n_samples: samples judged.
        n_reference: reference pieces searched for copies (all of them).
        n_reference_metrics: reference pieces whose metrics make the distribution.
        metrics: one comparison per metric, in :data:`METRICS` order.
        memorisation: one :class:`SharedRun` per sample, in sample order.
        flag_notes: runs of this many notes or more are flagged.
        seed_notes: shortest run the memorisation check can find, in notes.
        samples: per sample, ``{"sample": label, metric: value, ...}`` (``nan`` where undefined).
        form: one comparison of means per form metric, in :data:`FORM_METRICS` order.
    """

    reference: str
    n_samples: int
    n_reference: int
    n_reference_metrics: int
    metrics: list[MetricComparison]
    memorisation: list[SharedRun]
    flag_notes: int = FLAG_NOTES
    seed_notes: int = SEED + 1
    samples: list[dict] = field(default_factory=list)
    form: list[FormComparison] = field(default_factory=list)

    @property
    def flagged(self) -> list[SharedRun]:
        """The samples with a shared run of ``flag_notes`` or more."""
        return [r for r in self.memorisation if r.flagged]

    def to_dict(self) -> dict:
        """JSON-ready (``nan`` becomes ``null``)."""
        def clean(value):
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return clean(asdict(self))


def evaluate(samples: Sequence[Score], reference: Reference, labels: Sequence[str] | None = None,
             flag_notes: int = FLAG_NOTES, seed: int = SEED) -> Evaluation:
    """Compare ``samples`` with ``reference``: metric distributions, form means and memorisation.

    Args:
        samples: the generated pieces.
        reference: from :func:`load_reference`.
        labels: one per sample (default: ``"1"``, ``"2"``, ...).
        flag_notes: flag a sample sharing a run of this many notes or more.
        seed: memorisation seed length in transitions (runs of ``seed + 1`` notes or
            more are found).

    Raises:
        SeqartError: with no samples, or ``flag_notes`` shorter than the seed run.
    """
    if not samples:
        raise SeqartError("no samples to evaluate")
    if flag_notes < seed + 1:
        raise SeqartError(f"the flag threshold ({flag_notes} notes) must be at least {seed + 1} notes")
    labels = list(labels) if labels is not None else [str(i + 1) for i in range(len(samples))]
    if len(labels) != len(samples):
        raise SeqartError(f"{len(labels)} labels for {len(samples)} samples")
    pieces = [Piece(s) for s in samples]
    ref_pieces = [Piece(s) for s in reference.metric_scores]
    values = metric_values(pieces)
    metrics = compare_metrics(values, metric_values(ref_pieces))
    form = compare_form(form_values(pieces), form_values(ref_pieces))
    index = MelodyIndex(reference.scores, reference.labels, seed=seed)
    runs = [index.longest_run(p, label, flag_notes) for p, label in zip(pieces, labels)]
    per_sample = [{"sample": label, **{name: float(values[name][i]) for name in METRICS}}
                  for i, label in enumerate(labels)]
    return Evaluation(reference.name, len(samples), len(reference.scores), len(reference.metric_indices),
                      metrics, runs, flag_notes, seed + 1, per_sample, form)
