"""Sampling image models (``dcgan``, ``image-vae``): grids, single PNGs and latent walks.

>>> gen = seqart.load("runs/dcgan")                # an ImageGenerator, for a model or run folder
>>> images = gen.sample(64, seed=1)                # uint8 (64, 28, 28, 1)
>>> write_grid(images, "grid.png")                 # seqart.generate.writers
>>> write_gif(gen.walk(60, seed=1), "walk.gif", durations_ms=66)
>>> frames, durations = gen.music_walk("melody.mid")   # one frame per sixteenth
>>> write_gif(frames, "video.gif", durations)

A **walk** is a smooth closed loop in latent space: ``z(t) = r * sum_j w_j (u_j cos(2 pi f_j t
+ p_j) + v_j sin(2 pi f_j t + p_j))`` over ``t`` in ``[0, 1)``, with orthonormal directions
``u_j, v_j``, whole frequencies ``f_j`` (1, 2, 3) and ``r`` chosen so that ``|z| = sqrt(Z)``
(where ``N(0, I)`` puts its mass). Orthonormal directions make ``|z(t)|`` constant, and whole
frequencies make ``z(1) = z(0)``: the last frame leads back into the first.

A **music walk** moves through latent space in time with a melody, one frame per grid step
(``steps_per_beat`` per beat, 4 = sixteenths):

- a slow closed loop (one turn per 16 beats) keeps every frame moving;
- each pitch class owns one of 12 fixed random latent directions; a note onset pulls the
  walk towards its direction (half the pull applied at once, the rest eased in over the
  following steps, so held notes drift); the octave sets the pull's strength (higher is
  stronger: a factor ``2 ** ((octave - 4) / 2)``, clipped to 0.5-2);
- in rests the pull relaxes back towards the loop;
- frame durations follow the score's tempo map, so the GIF plays in time with the melody.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from seqart.errors import ScoreError, SeqartError
from seqart.generate.protocol import draw_seed, refuse_options
from seqart.models.registry import model_type
from seqart.generate.writers import MIN_FRAME_MS, gif_durations

class ImageGenerator:
    """A trained image model ready to sample.

    Args:
        folder: a model folder (or run folder) of a ``dcgan`` or ``image-vae``.
        device: torch device (default CPU).
        average: a DCGAN that keeps a weight average (``ema_decay > 0``) samples from it;
            False samples from the trained generator itself.

    Attributes:
        model_type: ``"dcgan"`` or ``"image-vae"``.
        size: image side in pixels.
        channels: 1 (grey) or 3 (RGB).
        latent_size: dimensions of z.
        evaluation: the run's held-out figures (``eval.json``), if recorded.
        last_seed: the seed of the last call (drawn when None was given).
    """

    def __init__(self, folder, device: str | None = None, average: bool = True):
        from seqart.models.folder import load_model, read_evaluation, resolve_model

        self.folder = resolve_model(folder)
        self.device = device or "cpu"
        self.average = average
        self.model, self.tokenizer, meta = load_model(self.folder, device=self.device)
        self.model_type = meta["model"]
        if model_type(self.model_type).outputs != "images":
            raise SeqartError(f"{self.folder}: a {self.model_type} model does not make images")
        self.size = int(self.model.config.size)
        self.channels = int(self.model.config.channels)
        if getattr(self.tokenizer, "name", None) != "images" or self.tokenizer.shape != (self.channels, self.size,
                                                                                        self.size):
            from seqart.errors import ModelError

            raise ModelError(f"{self.folder}: tokenizer.json does not describe the model's "
                             f"{self.channels}x{self.size}x{self.size} images")
        self.latent_size = int(self.model.latent_size)
        self.evaluation = read_evaluation(self.folder)
        self.last_seed: int | None = None
        #: what an option left at None means for this model
        self.sampling_defaults: dict = {}

    def _seed(self, seed: int | None) -> int:
        self.last_seed = draw_seed(seed)
        return self.last_seed

    def render(self, z: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Images for latent codes.

        Args:
            z: ``(N, Z)`` latent codes.
            batch_size: codes decoded at once.

        Returns:
            ``uint8`` ``(N, H, W, C)``.
        """
        import torch

        from seqart.tokenizers.images import ImageTokenizer, to_hwc

        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_size:
            raise SeqartError(f"latent codes must have shape (N, {self.latent_size}), got {z.shape}")
        out = []
        with torch.no_grad():
            for i in range(0, len(z), batch_size):
                zb = torch.from_numpy(z[i: i + batch_size]).to(self.device)
                x = self.model.generate(zb, average=self.average)
                out.append(to_hwc(ImageTokenizer.to_uint8(x)))
        if not out:
            return np.zeros((0, self.size, self.size, self.channels), np.uint8)
        return np.concatenate(out)

    def sample(self, num: int = 64, *, seed: int | None = None, **options) -> np.ndarray:
        """``num`` images from ``z ~ N(0, I)``.

        Args:
            num: how many images (>= 1).
            seed: same seed -> same images; None draws one (kept in ``last_seed``).
            options: the music options of the protocol (``bars``, ``key``, ``primer``, ...);
                an image model refuses any that is set.

        Returns:
            ``uint8`` ``(num, H, W, C)``.
        """
        refuse_options(self.model_type, options, "it makes images")
        if num < 1:
            raise SeqartError(f"num must be at least 1, got {num}")
        rng = np.random.default_rng(self._seed(seed))
        return self.render(rng.standard_normal((num, self.latent_size)))

    # ------------------------------------------------------------- walks
    def walk_latents(self, frames: int = 60, seed: int | None = None, include_end: bool = False) -> np.ndarray:
        """Points of a smooth closed loop in latent space (see the module docstring).

        Args:
            frames: points per turn (>= 2).
            seed: chooses the loop; None draws one.
            include_end: add the point after the last, which equals the first.

        Returns:
            ``(frames, Z)`` float32 (``frames + 1`` rows with ``include_end``).
        """
        if frames < 2:
            raise SeqartError(f"frames must be at least 2, got {frames}")
        loop = _closed_loop(self.latent_size, np.random.default_rng(self._seed(seed)))
        t = np.arange(frames + int(include_end)) / frames
        return loop(t).astype(np.float32)

    def walk(self, frames: int = 60, seed: int | None = None) -> np.ndarray:
        """Frames of a closed latent loop: ``uint8`` ``(frames, H, W, C)``."""
        return self.render(self.walk_latents(frames, seed))

    def music_latents(self, melody, steps_per_beat: int = 4, seed: int | None = None,
                      pull: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Latent path that follows a melody, one point per grid step (see the module docstring).

        Args:
            melody: a :class:`seqart.Score` or a MIDI/MusicXML/ABC path.
            steps_per_beat: frames per beat (quarter note).
            seed: chooses the loop and the 12 pitch directions; None draws one.
            pull: strength of a note's pull (1 = about the distance to the loop).

        Returns:
            (latents ``(F, Z)`` float32, frame start times in seconds ``(F + 1,)``:
            the last entry is the end of the last frame), ``F = ceil(end * steps_per_beat)``.

        Raises:
            ScoreError: an empty melody or a bad grid.
        """
        from seqart.score import Score

        score = Score.from_file(melody) if isinstance(melody, (str, Path)) else melody
        if isinstance(steps_per_beat, bool) or not isinstance(steps_per_beat, int) or not 1 <= steps_per_beat <= 48:
            raise ScoreError(f"steps_per_beat must be a whole number in 1..48, got {steps_per_beat!r}")
        notes = [n for t in score.tracks if not t.is_drum for n in t.notes]
        if not notes:
            raise ScoreError("the melody has no notes")
        spb = steps_per_beat
        n_steps = max(1, math.ceil(max(n.end for n in notes) * spb - 1e-9))
        onset = np.full(n_steps, -1, np.int64)  # highest pitch starting at each step, -1 for none
        sounding = np.zeros(n_steps, bool)
        for n in notes:
            i = min(int(round(n.start * spb)), n_steps - 1)
            onset[i] = max(onset[i], n.pitch)
            end = max(i + 1, int(round(n.end * spb)))
            sounding[i:end] = True
        rng = np.random.default_rng(self._seed(seed))
        Z = self.latent_size
        radius = math.sqrt(Z)
        loop = _closed_loop(Z, rng)
        directions = rng.standard_normal((12, Z))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)  # (12, Z) unit vectors
        turn_steps = 16 * spb  # the loop turns once per 16 beats
        offset, target = np.zeros(Z), np.zeros(Z)
        out = np.zeros((n_steps, Z))
        for i in range(n_steps):
            if onset[i] >= 0:
                pitch = int(onset[i])
                octave = pitch // 12 - 1
                strength = pull * float(np.clip(2.0 ** ((octave - 4) / 2), 0.5, 2.0))
                target = 0.5 * target + strength * directions[pitch % 12]
            elif not sounding[i]:
                target = 0.8 * target  # rests relax towards the loop
            offset = offset + 0.5 * (target - offset)
            base = loop(np.array([i / turn_steps]))[0] / radius  # unit vector on the loop
            z = base + offset
            out[i] = radius * z / max(np.linalg.norm(z), 1e-9)
        tempo = score.tempo_map
        times = np.array([tempo.beats_to_seconds(i / spb) for i in range(n_steps + 1)])
        return out.astype(np.float32), times

    def music_walk(self, melody, steps_per_beat: int = 4, seed: int | None = None,
                   pull: float = 1.0) -> tuple[np.ndarray, list[int]]:
        """Frames that move in time with a melody, and their GIF durations.

        Returns:
            (``uint8`` ``(F, H, W, C)``, durations in milliseconds, multiples of 10 whose
            running sum stays within 5 ms of the score's clock).

        Raises:
            ScoreError: an empty melody, or grid steps shorter than 20 ms (lower ``steps_per_beat``).
        """
        z, times = self.music_latents(melody, steps_per_beat, seed, pull)
        durations = gif_durations(times)
        if min(durations) < MIN_FRAME_MS:
            raise ScoreError(f"at this tempo a grid step lasts {1000 * float(np.min(np.diff(times))):.0f} ms; "
                             f"GIF players need at least {MIN_FRAME_MS} ms: fewer steps per beat")
        return self.render(z), durations


def _closed_loop(Z: int, rng: np.random.Generator, circles: int = 3):
    """A function ``t -> (len(t), Z)``: a smooth loop of period 1 on the sphere of radius ``sqrt(Z)``.

    Up to ``circles`` circles in orthonormal planes, frequencies 1, 2, 3, random phases
    and weights; with ``Z < 2 * circles`` fewer circles (a 1-D latent swings instead).
    """
    radius = math.sqrt(Z)
    k = min(circles, Z // 2)
    if k == 0:  # Z == 1: a swing between -r and r
        return lambda t: radius * np.cos(2 * math.pi * np.asarray(t, float))[:, None]
    q, _ = np.linalg.qr(rng.standard_normal((Z, 2 * k)))  # (Z, 2k) orthonormal columns
    freqs = np.arange(1, k + 1)
    phases = rng.uniform(0, 2 * math.pi, k)
    weights = np.array([1.0, 0.6, 0.35][:k])
    weights = weights / np.linalg.norm(weights)  # |z(t)| = radius for every t

    def loop(t):
        angle = 2 * math.pi * np.outer(np.asarray(t, float), freqs) + phases  # (T, k)
        coef = np.empty((len(angle), 2 * k))
        coef[:, 0::2] = weights * np.cos(angle)
        coef[:, 1::2] = weights * np.sin(angle)
        return radius * coef @ q.T  # (T, Z)

    return loop
