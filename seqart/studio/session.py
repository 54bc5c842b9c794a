"""One studio launch: the models offered, their generators, the primers, the takes and
the jobs; upload, generate, rate and tune.

Everything here is plain, blocking Python (the API runs it in a worker thread, off
the event loop). Generation goes through the one protocol every generator speaks
(:mod:`seqart.generate.protocol`); each model's generator is loaded once and samples
one request at a time. Takes are recorded in the model's feedback store as
``seqart sample`` records its files, so ``seqart rate`` and ``seqart tune`` see them
(unless recording is off: ``SEQART_NO_RECORD=1`` or ``seqart studio --no-record``), one
row per take with its place in its request (``index``) and, for a continuation, the
idea's bytes (:mod:`.history`). The history lists those rows too, and opens them.
Tuning runs as a background job in a child process (:mod:`.jobs`, :mod:`.tuning`);
the model it makes joins :attr:`StudioSession.models` when it ends.
Blending, varying and shifting takes with a latent model is :attr:`StudioSession.latent`
(:mod:`.latent`); an image model's pictures and walks are :attr:`StudioSession.pictures`
(:mod:`.pictures`).

The models offered (:attr:`StudioSession.models`, the page's model picker) are the ones
the launch found or was given, and the tuned ones. A model the studio takes on its own
(the shipped latent model that blends and varies when none is offered) is a *helper*
(:attr:`StudioSession.helpers`): its takes are takes like any other, listed in the
history and rated in its store, but it does not join the picker.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

from seqart.errors import SeqartError, one_line
from seqart.generate.protocol import settings_used
from seqart.studio.history import (IDEA_KEY, HistoryError, check_limit, find_stored, idea_file, idea_of, kept_idea,
                                   merged, open_stored, page, rate_stored, stored_takes)
from seqart.studio.jobs import Job, JobRegistry
from seqart.studio.latent import LatentStudio
from seqart.studio.models import ModelEntry, find_models
from seqart.studio.options import ModelOptions, OptionError, check_num, check_options, options_of, split_primer
from seqart.studio.pictures import PictureStudio
from seqart.studio.primers import Primer, PrimerRegistry
from seqart.studio.takes import Take, TakeRegistry
from seqart.studio.tuning import (DEFAULT_STEPS, PICTURE_STEPS, caption, check_request, check_tune, figures,
                                  tune_threads, tuned_folder)


class UnknownModelError(SeqartError):
    """A request names a model the studio does not offer."""


class StudioSession:
    """The state of one launch.

    Args:
        models: the models to offer (:func:`seqart.studio.models.find_models`).
        folder: the session folder for the takes' files (None: a new one in the data dir).
        record: record the takes in the feedback stores (None: unless ``SEQART_NO_RECORD``
            says not to, see :func:`seqart.feedback.store.recording_enabled`).

    Raises:
        FeedbackError: for a ``SEQART_NO_RECORD`` that is neither yes nor no.
    """

    def __init__(self, models: Sequence[ModelEntry], folder: str | Path | None = None, record: bool | None = None):
        from seqart.feedback.store import recording_enabled

        self.record = recording_enabled() if record is None else bool(record)
        #: the models offered (the page's picker), by id
        self.models = {m.id: m for m in models}
        #: models the studio took on its own, not offered (see the module docstring), by id
        self.helpers: dict[str, ModelEntry] = {}
        self.takes = TakeRegistry(folder)
        self.primers = PrimerRegistry(self.takes.folder / "primers")
        self.jobs = JobRegistry()
        self._options: dict[str, ModelOptions] = {}
        #: blend, vary and shift takes with a latent model (:mod:`.latent`; its model loads on first use)
        self.latent = LatentStudio(self)
        #: an image model's pictures and walks (:mod:`.pictures`)
        self.pictures = PictureStudio(self)

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
        """The form fields of a model, read from its folder (:meth:`ModelEntry.folder_options`),
        or from its generator, loaded then, when the folder cannot say. Never waits for a
        request that is generating with the model (another tab's)."""
        known = self._options.get(entry.id)
        if known is None:
            known = entry.folder_options()
            if known is None:
                with entry.lock:
                    known = options_of(entry.load())
            known = self._options.setdefault(entry.id, known)
        return known

    def models_json(self) -> list[dict]:
        """``GET /api/models``: every model with its fields; one that does not load says why
        in ``error`` (and has no fields) instead of hiding the others."""
        from seqart.models.registry import model_type

        out = []
        for entry in list(self.models.values()):  # a copy: a job's thread may add a tuned model meanwhile
            about = {**entry.summary(), "tunable": model_type(entry.model_type).tunable,
                     "tune_steps": PICTURE_STEPS if entry.makes_pictures else DEFAULT_STEPS}
            try:
                options = self.options(entry)
                out.append({**about, "options": options.to_json(), "continues": options.continues})
            except SeqartError as exc:
                out.append({**about, "options": [], "continues": None, "error": one_line(exc, 200)})
        return out

    def add_model(self, folder: str | Path) -> ModelEntry:
        """Offer the model in ``folder`` too (a tuned one); returns its entry."""
        (entry,) = find_models(given=[folder], shipped=())
        self.models.setdefault(entry.id, entry)
        return self.models[entry.id]

    def helper(self, model: str | Path) -> ModelEntry:
        """The entry of a model the studio uses on its own (a shipped name or folder): the
        offered one when it is offered, else a helper, kept out of the picker."""
        (entry,) = find_models(given=[model], shipped=())
        return self.models.get(entry.id) or self.helpers.setdefault(entry.id, entry)

    def known_models(self) -> list[ModelEntry]:
        """The models offered, then the helpers: every model whose takes this session may hold."""
        offered = list(self.models.values())  # a copy: a job's thread may add a tuned model meanwhile
        return offered + [e for e in list(self.helpers.values()) if e.id not in self.models]

    def music_models(self) -> list[ModelEntry]:
        """:meth:`known_models` that make takes (an image model's store holds pictures)."""
        return [e for e in self.known_models() if not e.makes_pictures]

    def start_tune(self, model_id: Any, body: dict) -> Job:
        """Start tuning a model on its ratings (``seqart tune --from-feedback``) in the background.

        An image model is tuned on the pictures liked in its store, its figures the distance
        of new pictures to them (:mod:`.tuning`).

        Args:
            model_id: the model's id.
            body: the request: ``steps``, ``lr`` and for an image model ``features`` (see
                :func:`seqart.studio.tuning.check_request`).

        Returns:
            the job; when it is done, its result holds the new model (``model``, also
            offered from then on), the before/after ``figures``, the ``caption`` that says
            what they measure, and the report's ``lines``.

        Raises:
            SeqartError: an unknown model, bad settings, a model that cannot be tuned, a
                store with no liked take (the workflow's errors), or a job running already.
        """
        entry = self.model(model_id)
        settings = check_request(body, pictures=entry.makes_pictures)
        out = tuned_folder(self.takes.folder / "models", entry.name)
        check_tune(entry.source, out)
        spec = {"model": entry.source, "out": str(out), "threads": tune_threads(), **settings}

        def tuned(done: dict) -> dict:
            added = self.add_model(out)
            return {"model": {**added.summary(), "tunable": True}, "figures": figures(done["report"]),
                    "caption": caption(done["report"]), "lines": done["lines"]}

        return self.jobs.start("tune", f"tune {entry.name}", entry.id, settings["steps"], "seqart.studio.tuning",
                               spec, out.with_name(out.name + ".log"), tuned)

    def add_primer(self, name: str, data: bytes) -> Primer:
        """Keep an uploaded idea for takes to continue (see :meth:`PrimerRegistry.add`)."""
        return self.primers.add(name, data)

    def generate(self, model_id: Any, num: Any, raw_options: Any) -> tuple[list[Take], str | None, str | None]:
        """Make ``num`` takes with a model, continuing a primer if the options name one.

        Args:
            model_id: the model's id.
            num: takes, 1-8 (None: 1).
            raw_options: the request's options (see :func:`seqart.studio.options.check_options`),
                with ``primer`` (a primer's id) and ``track`` (from 1) to continue an upload.

        Returns:
            the takes; a one-line warning if the feedback store could not record them (else
            None); and what was kept of a primer with several tracks or chords (else None).

        Raises:
            SeqartError: for an unknown model or primer, an image model (it makes pictures:
                :meth:`PictureStudio.sample <seqart.studio.pictures.PictureStudio.sample>`), bad
                options or options the generator refuses.
        """
        entry = self.model(model_id)
        if entry.makes_pictures:
            raise OptionError(f"{entry.name} makes pictures, not takes: ask POST /api/pictures for a grid")
        num = check_num(num)
        options = self.options(entry)
        rest, primer_id, track = split_primer(options, raw_options, entry.name)
        asked = check_options(options, rest, entry.name)
        primer = None if primer_id is None else self.primers.get(primer_id)
        continued = {} if primer is None else {"primer": primer.score, **({} if track is None else {"track": track})}
        with entry.lock:
            generator = entry.load()
            scores = generator.sample(num, **asked, **continued)
            seed = generator.last_seed
            defaults = dict(generator.sampling_defaults)
            notice = getattr(generator, "last_primer_note", None) if primer is not None else None
        settings = settings_used(defaults, {k: v for k, v in asked.items() if k != "seed"})
        primer_end = None
        if primer is not None:
            settings.update(primer=primer.id, **({} if track is None else {"track": track}))
            primer_end = primer.line(track)[0].end if options.continues == "line" else primer.score.end
        takes = self.takes.add(entry, scores, settings, seed, primer=primer, primer_end=primer_end)
        recorded = {**settings, "seed": seed, "num": num}
        if primer is not None and self.record:
            recorded["primer"] = str(primer.path)  # as seqart sample records --primer: the file
            recorded[IDEA_KEY] = kept_idea(primer)  # and its bytes, which restore it (see .history)
        return takes, self._record(entry, takes, recorded), notice

    def _record(self, entry: ModelEntry, takes: Sequence[Take], settings: dict) -> str | None:
        """Record the takes (or pictures: anything with a ``stored_file`` and an ``index``) in
        the model's feedback store, each with its ``index`` in its request, unless recording
        is off; a one-line warning if the store cannot be written (as seqart sample does: the
        takes are made, a store that fails only warns)."""
        from seqart.feedback.store import record_samples

        if not self.record:
            return None
        try:
            for take in takes:
                record_samples(entry.source, [take.stored_file], {**settings, "index": take.index})
        except SeqartError as exc:
            return f"warning: takes not recorded for rating ({one_line(exc, 200)})"
        return None

    def history(self, limit: str | None = None, before: str | None = None) -> dict[str, Any]:
        """``GET /api/history``: a page of the takes of this session and of the offered models'
        stores, newest first (:mod:`.history`).

        Args:
            limit: takes per page, as the query gives it (None: :data:`~seqart.studio.history.DEFAULT_LIMIT`).
            before: the id of the last take of the page before (None: from the newest).

        Returns:
            ``{"takes": summaries, "next": the id to ask the next page before (None: the last
            page), "recording": whether this session records its takes, "notes": one line per
            store left out}``.

        Raises:
            HistoryError: for a bad limit.
            UnknownTakeError: for a ``before`` that is no take of the history.
        """
        size = check_limit(limit)
        stored, notes = stored_takes(self.music_models())
        shown, following = page(merged(self.takes.history(), stored), size, before)
        return {"takes": shown, "next": following, "recording": self.record, "notes": notes}

    def open_take(self, take_id: Any) -> Take:
        """A take of this session, or an earlier one opened from its store (:func:`~seqart.studio.history.open_stored`).

        Raises:
            UnknownTakeError: for an id that is neither.
            SeqartError: for stored bytes that cannot be read.
        """
        take = self.takes.find(take_id)
        if take is not None:
            return take
        return open_stored(self.takes, find_stored(self.music_models(), take_id))

    def restore_primer(self, take_id: Any) -> tuple[Primer, int | None]:
        """The idea a take continued, held again as a primer of this session (read from the
        bytes its store row kept, for an earlier take), and the track it continued (from 1;
        None: the top voice of all tracks).

        Raises:
            UnknownTakeError: for an unknown take.
            HistoryError: for a take that continued no idea, or whose idea was not kept.
            SeqartError: for kept bytes the readers refuse.
        """
        take = self.takes.find(take_id)
        if take is not None and take.primer is not None:
            return self.primers.keep(take.primer), take.settings.get("track")
        if take is not None and not take.earlier:
            raise HistoryError("that take continued no idea")
        stored = find_stored(self.music_models(), take_id)
        name, data = idea_file(stored.settings)
        primer = self.primers.find_content(hashlib.sha256(data).hexdigest()) or self.primers.add(name, data)
        return self.primers.keep(primer), (idea_of(stored.settings) or {}).get("track")

    def rate(self, take_id: Any, rating: Any) -> Take:
        """Rate a take in its model's feedback store: ``"like"``, ``"dislike"`` or 1-5 stars.

        Raises:
            UnknownTakeError: for an unknown take.
            FeedbackError: for anything else than a rating, or a store that cannot be written.
        """
        take = self.takes.get(take_id)
        take.rating = rate_stored(take.model_source, take.stored_file, rating)
        return take
