"""Config of the melody VAE (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from seqart.errors import ModelError
from seqart.models.checks import check_float, check_int


@dataclass
class MusicVAEConfig:
    """Shape and objective of a :class:`seqart.models.music_vae.model.MusicVAE`.

    Attributes:
        n_classes: step classes (hold, rest, one per pitch; from the tokenizer).
        bars: model bars per span.
        bar_steps: grid steps per model bar (16 = one 4/4 bar of sixteenths).
        embed_dim: step-class embedding width (encoder and decoder).
        encoder_size: width of each direction of the bidirectional LSTM encoder.
        encoder_layers: stacked encoder layers.
        encoder: ``"flat"``, one bidirectional LSTM over the whole span (MusicVAE's),
            or ``"hierarchical"``: the same LSTM reads each bar on its own (its final
            states, both directions, describe the bar) and a second bidirectional LSTM
            of ``encoder_size`` reads the bars' descriptions, so no note has to be
            carried through hundreds of LSTM steps to reach the code.
        latent_size: dimensions of z (all of it, with ``bar_latent_size``).
        bar_latent_size: 0, or the dimensions of z that belong to each bar (needs both
            encoder and decoder ``"hierarchical"``). z is then one global part of
            ``latent_size - bars * bar_latent_size`` dimensions, read from the whole
            span and setting the conductor's state, followed by one code per bar,
            read from that bar (its own description beside the bar-level LSTM's output
            there) and handed to that bar: the conductor reads it as its input at the bar
            and the bar decoder gets it beside the conductor's embedding. z stays one
            vector, so interpolation, attribute vectors and the prior work unchanged;
            what changes is that a bar's notes have a short road to the code and back.
        bar_prior: with bar codes, what they are drawn from: ``"normal"``, N(0, I) as
            the global part; or ``"learned"``, a small LSTM that reads the global part
            (its initial state) and the bar codes before, and gives each bar's code a
            diagonal Gaussian. Training then measures each bar code's KL against that
            prior, so the codes learn to be predictable from the ones before; a new
            melody draws the global part from N(0, I) and the bars one after another.
        prior_noise: with a learned bar prior, the scale of the standard-normal noise
            that draws each bar's code when sampling (its mean plus its deviation times
            the noise times this): below 1 keeps new melodies nearer the prior's means, a
            temperature for the latent code (as Glow samples its latents below 1).
            Training and encoding never read it.
        prior_fit: weight of a second KL of the bar codes against a learned prior, with
            the posterior held fixed, in the training loss: it trains only the prior, which
            otherwise learns only from spans whose KL passes the free bits, and so fits
            the codes loosely (the 16-bar preset's prior drew melodies of 1.33 notes per
            beat without it, 0.75 with it; the test spans have 0.88).
        decoder: ``"flat"`` (one LSTM over the whole span) or ``"hierarchical"``
            (a conductor LSTM emits one embedding per bar; a bar LSTM decodes each bar from it).
        decoder_size: width of the (bar) decoder LSTM.
        decoder_layers: stacked decoder layers.
        conductor_size: width of the conductor LSTM (hierarchical only).
        conductor_layers: stacked conductor layers (hierarchical only).
        conductor_input: what the conductor LSTM reads at each bar (hierarchical only):
            ``"z"``, the code at every bar besides its initial state (seqart's first
            design), or ``"zeros"``, nothing: the code reaches it only through its
            initial state (MusicVAE's ``hierdec-mel_16bar``).
        bar_state_reset: hierarchical only. True: the bar decoder's LSTM state is
            re-initialised from the conductor's embedding at every bar (MusicVAE; what
            seqart has always done), so all a bar receives from the bar before is its
            first input, the previous bar's last step. False: the state runs on from bar
            to bar (initialised once, from the first bar's embedding), so the bar
            decoder can carry the melody across bar lines without the code: an ablation.
        dropout: dropout on embeddings and decoder outputs.
        word_dropout: 0-1; while training, each of the decoder's previous-step inputs
            is replaced by a placeholder class with this probability, so that the
            decoder has to take from the code what it cannot read from the steps
            before (Bowman et al. 2016); never at evaluation or sampling.
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
    encoder: str = "flat"
    latent_size: int = 128
    bar_latent_size: int = 0
    bar_prior: str = "normal"
    prior_noise: float = 1.0
    prior_fit: float = 0.0
    decoder: str = "flat"
    decoder_size: int = 512
    decoder_layers: int = 2
    conductor_size: int = 256
    conductor_layers: int = 1
    conductor_input: str = "z"
    bar_state_reset: bool = True
    dropout: float = 0.1
    word_dropout: float = 0.0
    beta_max: float = 0.2
    kl_warmup_steps: int = 1000
    free_bits: float = 0.0
    scheduled_sampling: float = 0.0
    sampling_warmup_steps: int = 1000
    steps_per_beat: int = 4
    min_pitch: int = 36

    @property
    def global_latent_size(self) -> int:
        """Dimensions of z read from the whole span (all of them without bar codes)."""
        return self.latent_size - self.bars * self.bar_latent_size

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
        if self.encoder not in ("flat", "hierarchical"):
            raise ModelError(f"config encoder={self.encoder!r} must be 'flat' or 'hierarchical'")
        if self.decoder not in ("flat", "hierarchical"):
            raise ModelError(f"config decoder={self.decoder!r} must be 'flat' or 'hierarchical'")
        check_int("bar_latent_size", self.bar_latent_size, 0, 8192)
        if self.bar_latent_size:
            if self.encoder != "hierarchical" or self.decoder != "hierarchical":
                raise ModelError("config bar_latent_size needs encoder='hierarchical' and decoder='hierarchical'")
            if self.global_latent_size < 1:
                raise ModelError(f"config latent_size={self.latent_size} must exceed bars x bar_latent_size = "
                                 f"{self.bars * self.bar_latent_size} (z keeps a global part)")
            if self.conductor_input != "z":
                raise ModelError("config bar_latent_size: the conductor reads each bar's code, so "
                                 "conductor_input must be 'z'")
        if self.bar_prior not in ("normal", "learned"):
            raise ModelError(f"config bar_prior={self.bar_prior!r} must be 'normal' or 'learned'")
        if self.bar_prior == "learned" and not self.bar_latent_size:
            raise ModelError("config bar_prior='learned' needs bar codes (bar_latent_size > 0)")
        check_float("prior_noise", self.prior_noise, 0.0, 4.0)
        check_float("prior_fit", self.prior_fit, 0.0, 100.0)
        for name, unset in (("prior_noise", 1.0), ("prior_fit", 0.0)):  # they act on a learned bar prior only
            if getattr(self, name) != unset and self.bar_prior != "learned":
                raise ModelError(f"config {name}={getattr(self, name)} needs bar_prior='learned'")
        if self.conductor_input not in ("z", "zeros"):
            raise ModelError(f"config conductor_input={self.conductor_input!r} must be 'z' or 'zeros'")
        if not isinstance(self.bar_state_reset, bool):
            raise ModelError(f"config bar_state_reset={self.bar_state_reset!r} must be true or false")
        check_float("dropout", self.dropout, 0.0, 0.95)
        check_float("word_dropout", self.word_dropout, 0.0, 1.0)
        check_float("beta_max", self.beta_max, 0.0, 100.0)
        check_int("kl_warmup_steps", self.kl_warmup_steps, 0, 10 ** 9)
        check_float("free_bits", self.free_bits, 0.0, 1e6)
        check_float("scheduled_sampling", self.scheduled_sampling, 0.0, 1.0)
        check_int("sampling_warmup_steps", self.sampling_warmup_steps, 0, 10 ** 9)
        check_int("steps_per_beat", self.steps_per_beat, 1, 48)
        check_int("min_pitch", self.min_pitch, 0, 127)
        if self.min_pitch + self.n_classes - 3 > 127:
            raise ModelError(f"config n_classes={self.n_classes} with min_pitch={self.min_pitch} passes MIDI pitch 127")
