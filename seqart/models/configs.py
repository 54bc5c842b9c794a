"""Model configs and their validation, importable without torch.

Loading a model folder validates its ``config.json`` here before a single
weight is allocated, so a hostile config (a 10^9-wide layer) is refused early.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from seqart.errors import ModelError


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """Raise ModelError unless ``value`` is an int in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ModelError(f"config {name}={value!r} must be an integer in {low}..{high}")


def check_float(name: str, value: Any, low: float, high: float) -> None:
    """Raise ModelError unless ``value`` is a number in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise ModelError(f"config {name}={value!r} must be a number in {low}..{high}")


@dataclass
class MelodyLSTMConfig:
    """Shape of a :class:`seqart.models.melody_lstm.MelodyLSTM`.

    Attributes:
        vocab_size: number of token ids (from the tokenizer).
        embed_dim: token embedding width.
        hidden_size: recurrent state width per layer.
        num_layers: stacked recurrent layers.
        dropout: dropout on embeddings, between layers and before the output.
        cell: ``"lstm"`` or ``"gru"``.
        tie_weights: share the embedding matrix with the output layer
            (needs ``embed_dim == hidden_size``).
    """

    vocab_size: int
    embed_dim: int = 256
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.3
    cell: str = "lstm"
    tie_weights: bool = True

    def validate(self) -> None:
        check_int("vocab_size", self.vocab_size, 2, 1 << 20)
        check_int("embed_dim", self.embed_dim, 1, 8192)
        check_int("hidden_size", self.hidden_size, 1, 8192)
        check_int("num_layers", self.num_layers, 1, 16)
        check_float("dropout", self.dropout, 0.0, 0.95)
        if self.cell not in ("lstm", "gru"):
            raise ModelError(f"config cell={self.cell!r} must be 'lstm' or 'gru'")
        if self.tie_weights and self.embed_dim != self.hidden_size:
            raise ModelError("tie_weights needs embed_dim == hidden_size")


@dataclass
class PolyLSTMConfig:
    """Shape of a :class:`seqart.models.poly.PolyLSTM`: an LSTM over piano-roll
    frames whose output is one independent Bernoulli per key.

    Attributes:
        n_features: keys per frame (88 for the piano).
        hidden_size: recurrent state width per layer.
        num_layers: stacked LSTM layers.
        dropout: dropout on the frame input, between layers and before the output.
    """

    n_features: int
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.3

    def validate(self) -> None:
        check_int("n_features", self.n_features, 1, 512)
        check_int("hidden_size", self.hidden_size, 1, 8192)
        check_int("num_layers", self.num_layers, 1, 16)
        check_float("dropout", self.dropout, 0.0, 0.95)


@dataclass
class PolyNADEConfig(PolyLSTMConfig):
    """Shape of a :class:`seqart.models.poly.PolyNADE`: a frame LSTM whose output
    models the keys of a frame jointly, lowest key first.

    Attributes:
        inner: ``"note-lstm"`` (a small LSTM runs up the keyboard, one step per key,
            seeing the frame LSTM's state, the keys already decided in this frame and
            the previous frame around the key) or ``"nade"`` (RNN-NADE: a NADE whose
            biases come from the frame LSTM).
        inner_size: hidden width of the inner model (note LSTM or NADE).
        context_size: width of the per-frame summary handed to the note LSTM.
        window: keys each side of the current one read from the previous frame, and
            keys below it read from the current frame (note LSTM only).
        pitch_embed: width of the learned per-key embedding (note LSTM only).
    """

    inner: str = "note-lstm"
    inner_size: int = 128
    context_size: int = 64
    window: int = 12
    pitch_embed: int = 16

    def validate(self) -> None:
        super().validate()
        if self.inner not in ("note-lstm", "nade"):
            raise ModelError(f"config inner={self.inner!r} must be 'note-lstm' or 'nade'")
        check_int("inner_size", self.inner_size, 1, 8192)
        check_int("context_size", self.context_size, 1, 8192)
        check_int("window", self.window, 0, 127)
        check_int("pitch_embed", self.pitch_embed, 1, 1024)


@dataclass
class MusicVAEConfig:
    """Shape and objective of a :class:`seqart.models.music_vae.MusicVAE`.

    Attributes:
        n_classes: step classes (hold, rest, one per pitch; from the tokenizer).
        bars: model bars per span.
        bar_steps: grid steps per model bar (16 = one 4/4 bar of sixteenths).
        embed_dim: step-class embedding width (encoder and decoder).
        encoder_size: width of each direction of the bidirectional LSTM encoder.
        encoder_layers: stacked encoder layers.
        latent_size: dimensions of z.
        decoder: ``"flat"`` (one LSTM over the whole span) or ``"hierarchical"``
            (a conductor LSTM emits one embedding per bar; a bar LSTM decodes each bar from it).
        decoder_size: width of the (bar) decoder LSTM.
        decoder_layers: stacked decoder layers.
        conductor_size: width of the conductor LSTM (hierarchical only).
        conductor_layers: stacked conductor layers (hierarchical only).
        dropout: dropout on embeddings and decoder outputs.
        beta_max: weight of the KL term once annealing is done.
        kl_warmup_steps: the KL weight grows linearly from 0 to ``beta_max`` over these steps.
        free_bits: KL (bits per span) that costs nothing, so the posterior can carry
            that much information before it is penalised.
        scheduled_sampling: largest probability of feeding the decoder its own sample
            instead of the true previous step (0 = pure teacher forcing).
        sampling_warmup_steps: that probability grows linearly from 0 over these steps.
        steps_per_beat: grid steps per beat (from the tokenizer).
        min_pitch: MIDI pitch of class 2 (from the tokenizer).
    """

    n_classes: int
    bars: int = 2
    bar_steps: int = 16
    embed_dim: int = 64
    encoder_size: int = 256
    encoder_layers: int = 1
    latent_size: int = 128
    decoder: str = "flat"
    decoder_size: int = 512
    decoder_layers: int = 2
    conductor_size: int = 256
    conductor_layers: int = 1
    dropout: float = 0.1
    beta_max: float = 0.2
    kl_warmup_steps: int = 1000
    free_bits: float = 0.0
    scheduled_sampling: float = 0.0
    sampling_warmup_steps: int = 1000
    steps_per_beat: int = 4
    min_pitch: int = 36

    @property
    def span_steps(self) -> int:
        """Grid steps per span (``bars * bar_steps``)."""
        return self.bars * self.bar_steps

    def validate(self) -> None:
        check_int("n_classes", self.n_classes, 3, 1024)
        check_int("bars", self.bars, 1, 256)
        check_int("bar_steps", self.bar_steps, 1, 192)
        check_int("span_steps", self.bars * self.bar_steps, 1, 8192)
        for name in ("embed_dim", "encoder_size", "latent_size", "decoder_size", "conductor_size"):
            check_int(name, getattr(self, name), 1, 8192)
        for name in ("encoder_layers", "decoder_layers", "conductor_layers"):
            check_int(name, getattr(self, name), 1, 16)
        if self.decoder not in ("flat", "hierarchical"):
            raise ModelError(f"config decoder={self.decoder!r} must be 'flat' or 'hierarchical'")
        check_float("dropout", self.dropout, 0.0, 0.95)
        check_float("beta_max", self.beta_max, 0.0, 100.0)
        check_int("kl_warmup_steps", self.kl_warmup_steps, 0, 10 ** 9)
        check_float("free_bits", self.free_bits, 0.0, 1e6)
        check_float("scheduled_sampling", self.scheduled_sampling, 0.0, 1.0)
        check_int("sampling_warmup_steps", self.sampling_warmup_steps, 0, 10 ** 9)
        check_int("steps_per_beat", self.steps_per_beat, 1, 48)
        check_int("min_pitch", self.min_pitch, 0, 127)
        if self.min_pitch + self.n_classes - 3 > 127:
            raise ModelError(f"config n_classes={self.n_classes} with min_pitch={self.min_pitch} passes MIDI pitch 127")


def _check_image_shape(size, channels) -> None:
    if isinstance(size, bool) or size not in (28, 64):
        raise ModelError(f"config size={size!r} must be 28 or 64 (pixels)")
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ModelError(f"config channels={channels!r} must be 1 (grey) or 3 (RGB)")


@dataclass
class DCGANConfig:
    """Shape of a :class:`seqart.models.dcgan.DCGAN` (Radford et al. 2016).

    Attributes:
        size: image side in pixels, 28 or 64 (from the data).
        channels: 1 (grey) or 3 (RGB) (from the data).
        latent_size: dimensions of the noise ``z ~ N(0, I)``.
        g_width: feature maps of the generator's last hidden layer; each layer
            nearer ``z`` has twice as many.
        d_width: feature maps of the discriminator's first layer; each deeper layer
            has twice as many.
        beta1: Adam's first-moment decay for both networks (DCGAN: 0.5).
        ema_decay: sampling uses an exponential moving average of the generator's
            weights with this decay per step (Yazici et al. 2019; 0 = the trained
            generator itself). Training is unchanged.
    """

    size: int = 28
    channels: int = 1
    latent_size: int = 100
    g_width: int = 64
    d_width: int = 64
    beta1: float = 0.5
    ema_decay: float = 0.0

    def validate(self) -> None:
        _check_image_shape(self.size, self.channels)
        check_int("latent_size", self.latent_size, 1, 4096)
        check_int("g_width", self.g_width, 1, 1024)
        check_int("d_width", self.d_width, 1, 1024)
        check_float("beta1", self.beta1, 0.0, 0.999)
        check_float("ema_decay", self.ema_decay, 0.0, 0.99999)


@dataclass
class ImageVAEConfig:
    """Shape and objective of a :class:`seqart.models.image_vae.ImageVAE`.

    Attributes:
        size: image side in pixels, 28 or 64 (from the data).
        channels: 1 (grey) or 3 (RGB) (from the data).
        latent_size: dimensions of z.
        width: feature maps of the encoder's first convolution (doubling per level;
            the decoder mirrors it).
        hidden_size: width of the dense layer between the convolutions and z.
        likelihood: ``"bernoulli"`` (each pixel's intensity in [0, 1] is the target
            of a Bernoulli cross-entropy; the usual choice for MNIST) or ``"gaussian"``
            (a Gaussian on the [-1, 1] values with a learned scale per channel).
        beta_max: weight of the KL term once annealing is done (1 = the ELBO).
        kl_warmup_steps: the KL weight grows linearly from 0 to ``beta_max`` over these steps.
    """

    size: int = 28
    channels: int = 1
    latent_size: int = 16
    width: int = 32
    hidden_size: int = 256
    likelihood: str = "bernoulli"
    beta_max: float = 1.0
    kl_warmup_steps: int = 1000

    def validate(self) -> None:
        _check_image_shape(self.size, self.channels)
        check_int("latent_size", self.latent_size, 1, 4096)
        check_int("width", self.width, 1, 1024)
        check_int("hidden_size", self.hidden_size, 1, 8192)
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ModelError(f"config likelihood={self.likelihood!r} must be 'bernoulli' or 'gaussian'")
        check_float("beta_max", self.beta_max, 0.0, 100.0)
        check_int("kl_warmup_steps", self.kl_warmup_steps, 0, 10 ** 9)


#: model registry name -> its config class
CONFIGS: dict[str, type] = {
    "melody-lstm": MelodyLSTMConfig,
    "poly-lstm": PolyLSTMConfig,
    "poly-nade": PolyNADEConfig,
    "music-vae": MusicVAEConfig,
    "dcgan": DCGANConfig,
    "image-vae": ImageVAEConfig,
}


def config_from_dict(model: str, data: dict):
    """Build and validate the config of model type ``model`` from JSON."""
    try:
        cls = CONFIGS[model]
    except KeyError:
        raise ModelError(f"unknown model type {model!r}; known: {', '.join(CONFIGS)}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{model} config must be a JSON object")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ModelError(f"unknown {model} config key(s): {', '.join(unknown)}")
    try:
        config = cls(**data)
    except TypeError as exc:
        raise ModelError(f"invalid {model} config: {exc}") from None
    config.validate()
    return config
