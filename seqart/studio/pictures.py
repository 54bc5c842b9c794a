"""Pictures: an image model (``dcgan``, ``image-vae``) in the studio.

- **A grid** of sampled pictures (``z ~ N(0, I)``, drawn from the request's seed): each
  picture is a PNG at the model's own size (28x28 for an MNIST model; the page scales
  it up), addressed by an opaque id like a take, downloadable, and rated like a take:
  like, dislike or 1-5 stars, in the model's feedback store, which keeps the PNG's
  bytes. Those are the bytes ``seqart tune`` (and the studio's tune job, :mod:`.tuning`)
  reads back to tune the model on the pictures liked, so they are written at exactly
  the size the model makes. The grid is recorded in the store as ``seqart sample``
  records its PNGs (``seed``, ``num``, and each picture's ``index`` from 1), unless
  recording is off.
- **A latent walk**: a smooth closed loop through the model's latent space as a looping
  animated GIF (``frames`` frames at :data:`WALK_FPS` frames per second), or, given a
  take, a walk in time with its notes (:meth:`ImageGenerator.music_walk
  <seqart.models.images.sampler.ImageGenerator.music_walk>`, as ``seqart walk --music``):
  one frame per grid step, each note onset pulling the walk towards its pitch class's
  direction, the frame durations following the take's tempo, so the GIF lasts as long
  as the take plays. The grid is sixteenths (4 steps per beat, a quarter note = 1 beat),
  coarser for a take too long or too fast for that (at most :data:`MAX_MUSIC_FRAMES`
  frames, and GIF frames of at least 20 ms).

Files live in the session folder (``pictures/<id>.png``, ``walks/<id>.gif``), named by
the server; a client only ever sends ids. Every method here is blocking (the API runs
it in a worker thread); a model's generator is loaded once, and its lock is held while
it samples, as for takes.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from seqart.errors import ScoreError, SeqartError
from seqart.studio.ids import lookup, new_id
from seqart.studio.latent import check_fields, whole_number
from seqart.studio.models import ModelEntry
from seqart.studio.options import DEFAULT_PICTURES, MAX_PICTURES, MAX_SEED

#: the fields of a grid request and of a walk request
PICTURE_FIELDS = ("model", "num", "seed")
WALK_FIELDS = ("model", "seed", "frames", "take")
#: frames of a looping walk: fewest, most, default
MIN_FRAMES, MAX_FRAMES, DEFAULT_FRAMES = 2, 240, 48
#: frames per second of a looping walk
WALK_FPS = 15.0
#: grid steps per beat a walk in time with a take tries, finest first
STEPS_PER_BEAT = (4, 2, 1)
#: frames of a walk in time with a take, at most (a 32-bar 4/4 take in sixteenths)
MAX_MUSIC_FRAMES = 512
#: about how wide a walk's frames are drawn, in pixels (the model's pictures scaled up whole)
WALK_WIDTH = 168


class UnknownPictureError(SeqartError):
    """No picture or walk of that id in this session (or an id that cannot be one)."""


class PictureRequestError(SeqartError):
    """A grid or walk request with an unknown field, a bad value, or a model that makes no pictures."""


@dataclass
class Picture:
    """One sampled picture.

    Attributes:
        id: its opaque id.
        model_id, model_name, model_source: the model that made it (see :class:`~seqart.studio.takes.Take`).
        path: its PNG in the session folder, at the model's size.
        seed: the seed of its grid (with ``num`` and ``index`` it reproduces the picture).
        index: its place in its grid, from 1.
        num: pictures in its grid.
        width, height: its size in pixels.
        created: when it was made (ISO 8601, UTC, seconds).
        rating: the latest rating: ``"like"``, ``"dislike"``, 1-5 stars, or None.
    """

    id: str
    model_id: str
    model_name: str
    model_source: str
    path: Path
    seed: int
    index: int
    num: int
    width: int
    height: int
    created: str
    rating: str | int | None = None

    @property
    def stored_file(self) -> Path:
        """The file whose bytes its feedback store keeps."""
        return self.path

    def download_name(self) -> str:
        """The file name a download gets: ``<model>-<seed>-<index>.png``."""
        return _safe(f"{self.model_name}-{self.seed}-{self.index}") + ".png"

    def to_json(self) -> dict[str, Any]:
        """What the page draws: who made it, how, its rating, and where its PNG is."""
        return {"id": self.id, "model": self.model_id, "model_name": self.model_name, "seed": self.seed,
                "index": self.index, "num": self.num, "width": self.width, "height": self.height,
                "created": self.created, "rating": self.rating, "image": f"/api/pictures/{self.id}.png",
                "download": f"/api/pictures/{self.id}/download.png"}


@dataclass
class Walk:
    """One latent walk, an animated GIF.

    Attributes:
        id: its opaque id.
        model_id, model_name: the model that made it.
        path: its GIF in the session folder.
        seed: the seed that chose the loop (and, in time with a take, the pitch directions).
        frames: frames in it.
        seconds: how long one pass lasts.
        take: the id of the take it moves in time with (None: a loop).
        take_title: that take, in words (None: a loop).
        steps_per_beat: frames per beat in time with a take (None: a loop).
        created: when it was made (ISO 8601, UTC, seconds).
    """

    id: str
    model_id: str
    model_name: str
    path: Path
    seed: int
    frames: int
    seconds: float
    take: str | None = None
    take_title: str | None = None
    steps_per_beat: int | None = None
    created: str = field(default_factory=lambda: _now())

    def download_name(self) -> str:
        """``<model>-walk-<seed>.gif``."""
        return _safe(f"{self.model_name}-walk-{self.seed}") + ".gif"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model_id, "model_name": self.model_name, "seed": self.seed,
                "frames": self.frames, "seconds": round(self.seconds, 3), "take": self.take,
                "take_title": self.take_title, "steps_per_beat": self.steps_per_beat, "created": self.created,
                "image": f"/api/walks/{self.id}.gif"}


class PictureStudio:
    """The pictures and walks of one session (see the module docstring).

    Args:
        session: the :class:`~seqart.studio.session.StudioSession` whose models, takes
            (a walk's music) and feedback recording are used.
    """

    def __init__(self, session):
        self.session = session
        self._pictures: dict[str, Picture] = {}
        self._walks: dict[str, Walk] = {}
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        return self.session.takes.folder

    def image_entry(self, model_id: Any) -> ModelEntry:
        """The offered image model of ``model_id``.

        Raises:
            UnknownModelError: for a model the studio does not offer.
            PictureRequestError: for one that makes music.
        """
        entry = self.session.model(model_id)
        if not entry.makes_pictures:
            offered = [e.id for e in list(self.session.models.values()) if e.makes_pictures]
            raise PictureRequestError(f"{entry.name} makes music, not pictures; image models here: "
                                      f"{', '.join(offered) or 'none (give one with seqart studio --model FOLDER)'}")
        return entry

    # ------------------------------------------------------------ the grid
    def sample(self, body: dict) -> tuple[list[Picture], str | None]:
        """``POST /api/pictures``: a grid of pictures.

        Args:
            body: ``model`` (an image model's id), ``num`` (pictures, 1-:data:`MAX_PICTURES`;
                None: :data:`DEFAULT_PICTURES`), ``seed`` (same seed and num, same pictures;
                None: one is drawn and reported as the pictures' seed).

        Returns:
            the pictures in order, and a one-line warning if the store could not record
            them (else None).

        Raises:
            SeqartError: a bad field, an unknown model or one that makes music.
        """
        from seqart.generate.writers import write_png

        check_fields(body, PICTURE_FIELDS, "a pictures request", PictureRequestError)
        entry = self.image_entry(body.get("model"))
        num = whole_number(body, "num", 1, MAX_PICTURES, DEFAULT_PICTURES, PictureRequestError)
        seed = whole_number(body, "seed", 0, MAX_SEED, None, PictureRequestError)
        with entry.lock:
            generator = entry.load()
            images = generator.sample(num, seed=seed)  # uint8 (num, H, W, C)
            seed = generator.last_seed
        folder = self.folder / "pictures"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = _now()
        pictures = []
        for index, image in enumerate(images, start=1):
            picture_id = new_id()
            path = write_png(image, folder / f"{picture_id}.png")
            pictures.append(Picture(picture_id, entry.id, entry.name, entry.source, path, seed, index, num,
                                    int(image.shape[1]), int(image.shape[0]), created))
        with self._lock:
            self._pictures.update((p.id, p) for p in pictures)
        return pictures, self.session._record(entry, pictures, {"seed": seed, "num": num})

    def get(self, picture_id: Any) -> Picture:
        """The picture of ``picture_id``.

        Raises:
            UnknownPictureError: for an id that is not 16 hex digits or not of this session.
        """
        return lookup(self._pictures, picture_id, UnknownPictureError, "no picture {key} in this session")

    def rate(self, picture_id: Any, rating: Any) -> Picture:
        """Rate a picture in its model's feedback store: ``"like"``, ``"dislike"`` or 1-5 stars
        (the store keeps its PNG's bytes, what a tune on the liked pictures reads).

        Raises:
            UnknownPictureError: for an unknown picture.
            FeedbackError: for anything else than a rating, or a store that cannot be written.
        """
        from seqart.studio.history import rate_stored

        picture = self.get(picture_id)
        picture.rating = rate_stored(picture.model_source, picture.path, rating)
        return picture

    # ------------------------------------------------------------ walks
    def walk(self, body: dict) -> Walk:
        """``POST /api/walks``: a latent walk as an animated GIF.

        Args:
            body: ``model`` (an image model's id), ``seed`` (same seed, same walk; None: one
                is drawn), and either ``frames`` (a loop of :data:`MIN_FRAMES`-:data:`MAX_FRAMES`
                frames; None: :data:`DEFAULT_FRAMES`) or ``take`` (a take's id: a walk in
                time with its notes, one frame per grid step).

        Raises:
            UnknownTakeError: for an unknown take.
            SeqartError: a bad field, both ``frames`` and ``take``, an unknown model or one
                that makes music, a take without notes or too long to follow.
        """
        from seqart.generate.writers import gif_durations, write_gif

        check_fields(body, WALK_FIELDS, "a walk request", PictureRequestError)
        entry = self.image_entry(body.get("model"))
        seed = whole_number(body, "seed", 0, MAX_SEED, None, PictureRequestError)
        take = None
        if body.get("take") is not None:
            if body.get("frames") is not None:
                raise PictureRequestError("frames and take exclude each other: a walk in time with a take has "
                                          "one frame per grid step")
            take = self.session.takes.get(body["take"])
        frames = whole_number(body, "frames", MIN_FRAMES, MAX_FRAMES, DEFAULT_FRAMES, PictureRequestError)
        steps_per_beat = None
        with entry.lock:
            generator = entry.load()
            if take is None:
                images = generator.walk(frames, seed=seed)
                durations = gif_durations([i / WALK_FPS for i in range(frames + 1)])
            else:
                images, durations, steps_per_beat = music_frames(generator, take.score, seed)
            seed, size = generator.last_seed, generator.size
        walk_id = new_id()
        folder = self.folder / "walks"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = write_gif(images, folder / f"{walk_id}.gif", durations, scale=max(1, WALK_WIDTH // size))
        title = None if take is None else f"{take.model_name} take {take.index or 1} of {take.num or 1}"
        walk = Walk(walk_id, entry.id, entry.name, path, seed, len(images), sum(durations) / 1000,
                    take=None if take is None else take.id, take_title=title, steps_per_beat=steps_per_beat)
        with self._lock:
            self._walks[walk.id] = walk
        return walk

    def get_walk(self, walk_id: Any) -> Walk:
        """The walk of ``walk_id``.

        Raises:
            UnknownPictureError: for an id that is not 16 hex digits or not of this session.
        """
        return lookup(self._walks, walk_id, UnknownPictureError, "no walk {key} in this session")


def music_frames(generator, score, seed: int | None) -> tuple[np.ndarray, list[int], int]:
    """The frames of a walk in time with ``score``: at the finest grid of :data:`STEPS_PER_BEAT`
    that gives at most :data:`MAX_MUSIC_FRAMES` frames of at least 20 ms each.

    Returns:
        (``uint8`` ``(F, H, W, C)`` frames, their durations in ms, the grid's steps per beat).

    Raises:
        PictureRequestError: for a score without pitched notes, or one too long to follow.
        ScoreError: for a tempo too fast even at one frame a beat.
    """
    notes = [n for track in score.tracks if not track.is_drum for n in track.notes]
    if not notes:
        raise PictureRequestError("that take has no notes to walk in time with; choose another")
    end = max(n.end for n in notes)  # in beats
    fitting = [s for s in STEPS_PER_BEAT if math.ceil(end * s - 1e-9) <= MAX_MUSIC_FRAMES]
    if not fitting:
        raise PictureRequestError(f"that take lasts {end:g} beats; a walk follows at most {MAX_MUSIC_FRAMES} "
                                  "beats (one frame a beat): choose a shorter one")
    failure = None
    for steps_per_beat in fitting:
        try:
            images, durations = generator.music_walk(score, steps_per_beat=steps_per_beat, seed=seed)
            return images, durations, steps_per_beat
        except ScoreError as exc:  # grid steps shorter than a GIF frame can be: a coarser grid
            failure = exc
    raise failure


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
