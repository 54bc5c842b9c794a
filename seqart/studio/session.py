"""One studio launch: the models offered, their generators, the takes; generate and rate.

Everything here is plain, blocking Python (the API runs it in a worker thread, off
the event loop). Generation goes through the one protocol every generator speaks
(:mod:`seqart.generate.protocol`); each model's generator is loaded once and samples
one request at a time. Takes are recorded in the model's feedback store as
``seqart sample`` records its files, so ``seqart rate`` and ``seqart tune`` see them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from seqart.errors import SeqartError, one_line
from seqart.studio.models import ModelEntry
from seqart.studio.options import ModelOptions, check_num, check_options, options_of
from seqart.studio.takes import Take, TakeRegistry


class UnknownModelError(SeqartError):
    """A request names a model the studio does not offer."""


class StudioSession:
    """The state of one launch.

    Args:
        models: the models to offer (:func:`seqart.studio.models.find_models`).
        folder: the session folder for the takes' files (None: a new one in the data dir).
    """

    def __init__(self, models: Sequence[ModelEntry], folder: str | Path | None = None):
        self.models = {m.id: m for m in models}
        self.takes = TakeRegistry(folder)
        self._options: dict[str, ModelOptions] = {}

    def model(self, model_id: Any) -> ModelEntry:
        """The model of ``model_id``.

        Raises:
            UnknownModelError: naming the models offered.
        """
        entry = self.models.get(model_id) if isinstance(model_id, str) else None
        if entry is None:
            raise UnknownModelError(f"no model {str(model_id)[:40]!r} here; the studio offers "
                                    f"{', '.join(self.models) or 'none'}")
        return entry

    def options(self, entry: ModelEntry) -> ModelOptions:
        """The form fields of a model (its generator is loaded on first use)."""
        with entry.lock:
            if entry.id not in self._options:
                self._options[entry.id] = options_of(entry.load())
            return self._options[entry.id]

    def models_json(self) -> list[dict]:
        """``GET /api/models``: every model with its fields; one that does not load says why
        in ``error`` (and has no fields) instead of hiding the others."""
        out = []
        for entry in self.models.values():
            try:
                out.append({**entry.summary(), "options": self.options(entry).to_json()})
            except SeqartError as exc:
                out.append({**entry.summary(), "options": [], "error": one_line(exc, 200)})
        return out

    def generate(self, model_id: Any, num: Any, raw_options: Any) -> tuple[list[Take], str | None]:
        """Make ``num`` takes with a model.

        Args:
            model_id: the model's id.
            num: takes, 1-8 (None: 1).
            raw_options: the request's options (see :func:`seqart.studio.options.check_options`).

        Returns:
            the takes, and a one-line warning if the feedback store could not record them (else None).

        Raises:
            SeqartError: for an unknown model, bad options or options the generator refuses.
        """
        from seqart.feedback.store import record_samples

        entry = self.model(model_id)
        num = check_num(num)
        asked = check_options(self.options(entry), raw_options, entry.name)
        with entry.lock:
            generator = entry.load()
            scores = generator.sample(num, **asked)
            seed = generator.last_seed
            defaults = dict(generator.sampling_defaults)
        settings = {**defaults, **{k: v for k, v in asked.items() if k != "seed"}}
        takes = self.takes.add(entry, scores, settings, seed)
        try:  # as seqart sample does: the takes are made, a store that cannot be written only warns
            record_samples(entry.source, [t.midi for t in takes], {**settings, "seed": seed, "num": num})
        except SeqartError as exc:
            return takes, f"warning: takes not recorded for rating ({one_line(exc, 200)})"
        return takes, None

    def rate(self, take_id: Any, rating: Any) -> Take:
        """Rate a take in its model's feedback store: ``"like"``, ``"dislike"`` or 1-5 stars.

        Raises:
            UnknownTakeError: for an unknown take.
            FeedbackError: for anything else than a rating, or a store that cannot be written.
        """
        from seqart.feedback.store import FeedbackError, FeedbackStore, model_label, parse_rating

        take = self.takes.get(take_id)
        if isinstance(rating, bool) or not isinstance(rating, (str, int)):
            raise FeedbackError("rating must be like, dislike or 1-5 stars")
        parse_rating(rating)  # refuse a bad rating before the store is opened
        with FeedbackStore.for_model(take.model_source) as store:
            sample = store.rate(take.midi, rating, model=model_label(take.model_source))
        take.rating = sample.stars if sample.stars is not None else {1: "like", -1: "dislike"}.get(sample.rating)
        return take
