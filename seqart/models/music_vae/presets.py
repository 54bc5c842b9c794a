"""Presets of the melody VAE."""

from __future__ import annotations

from seqart.models.registry import Preset

#: the model config of melody-vae-16bar-bar-codes (its GPU preset widens it)
_BAR_CODES = {"bars": 16, "embed_dim": 64, "encoder": "hierarchical", "encoder_size": 128, "latent_size": 512,
              "bar_latent_size": 24, "bar_prior": "learned", "decoder": "hierarchical", "conductor_size": 256,
              "conductor_input": "z", "bar_state_reset": False, "decoder_size": 256, "decoder_layers": 1,
              "dropout": 0.1, "word_dropout": 0.2, "beta_max": 0.2, "kl_warmup_steps": 0, "free_bits": 384.0,
              "prior_noise": 0.5, "prior_fit": 1.0}

#: sequence-VAE presets on melody corpora (MusicVAE's 2-bar and 16-bar melody models, sized
#: for a CPU): name -> (description, model config, training settings)
_VAE_SETTINGS = {
    "melody-vae-2bar": (
        "MusicVAE-style 2-bar melody VAE, flat LSTM decoder (stage 1 of the shipped 'folk-vae-2bar'; "
        "README: Latent melodies)",
        {"bars": 2, "embed_dim": 64, "encoder_size": 256, "latent_size": 128, "decoder": "flat",
         "decoder_size": 256, "decoder_layers": 2, "dropout": 0.1, "beta_max": 0.1, "kl_warmup_steps": 1000,
         "free_bits": 64.0},
        {"steps": 6000, "batch_size": 128, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 250, "val_batches": 20, "checkpoint_every": 250},
    ),
    "melody-vae-16bar": (
        "MusicVAE-style 16-bar melody VAE, hierarchical decoder (a conductor LSTM per bar, a bar LSTM per step)",
        {"bars": 16, "embed_dim": 64, "encoder_size": 192, "latent_size": 256, "decoder": "hierarchical",
         "conductor_size": 256, "decoder_size": 256, "decoder_layers": 1, "dropout": 0.1, "beta_max": 0.2,
         "kl_warmup_steps": 2000, "free_bits": 256.0},
        {"steps": 7000, "batch_size": 32, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 500, "val_batches": 16, "checkpoint_every": 250},
    ),
    "melody-vae-16bar-flat": (
        "the 16-bar melody VAE with a flat decoder (the baseline the hierarchical one is compared with)",
        {"bars": 16, "embed_dim": 64, "encoder_size": 192, "latent_size": 256, "decoder": "flat",
         "decoder_size": 256, "decoder_layers": 1, "dropout": 0.1, "beta_max": 0.2, "kl_warmup_steps": 2000,
         "free_bits": 256.0},
        {"steps": 7000, "batch_size": 32, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 500, "val_batches": 16, "checkpoint_every": 250},
    ),
    "melody-vae-16bar-musicvae": (
        "the 16-bar hierarchical melody VAE with MusicVAE's choices (conductor fed zeros, z only in its initial "
        "state; the bar decoder restarted from the conductor at every bar; free bits 256, beta 0.2 from the "
        "start) plus word dropout 0.2, sized to train in under an hour on the 2-core CPU",
        {"bars": 16, "embed_dim": 64, "encoder_size": 192, "latent_size": 256, "decoder": "hierarchical",
         "conductor_size": 256, "conductor_input": "zeros", "bar_state_reset": True, "decoder_size": 256,
         "decoder_layers": 1, "dropout": 0.1, "word_dropout": 0.2, "beta_max": 0.2, "kl_warmup_steps": 0,
         "free_bits": 256.0},
        {"steps": 5500, "batch_size": 32, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 500, "val_batches": 16, "checkpoint_every": 250},
    ),
    "melody-vae-16bar-bar-encoder": (
        "melody-vae-16bar-musicvae with a hierarchical encoder: each bar is read on its own and a second "
        "LSTM reads the bars, so no note travels 256 LSTM steps to reach the code; sized for the 2-core CPU "
        "and to ship in under 10 MB",
        {"bars": 16, "embed_dim": 64, "encoder": "hierarchical", "encoder_size": 128, "latent_size": 256,
         "decoder": "hierarchical", "conductor_size": 256, "conductor_input": "zeros", "bar_state_reset": True,
         "decoder_size": 256, "decoder_layers": 1, "dropout": 0.1, "word_dropout": 0.2, "beta_max": 0.2,
         "kl_warmup_steps": 0, "free_bits": 256.0},
        {"steps": 5500, "batch_size": 32, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 500, "val_batches": 16, "checkpoint_every": 250},
    ),
    "melody-vae-16bar-bar-codes": (
        "the 16-bar hierarchical melody VAE with a code per bar: z is a 128-dim global part (it sets the "
        "conductor's state) and 16 bar codes of 24 dims, each read from its bar by a hierarchical encoder and "
        "handed to that bar, drawn from a learned prior (an LSTM over the bar codes before); the bar decoder "
        "carries its state across bar lines; 384 free bits; the prior always fits the codes (prior_fit) and new "
        "melodies draw the bar codes with half its noise; sized for the 2-core CPU (about 25 minutes) and to "
        "ship in under 10 MB (the shipped 'folk-vae-16bar')",
        _BAR_CODES,
        {"steps": 4000, "batch_size": 32, "lr": 2e-3, "warmup_steps": 100, "augment_transpose": 6,
         "val_every": 500, "val_batches": 16, "checkpoint_every": 250},
    ),
    "melody-vae-16bar-bar-codes-gpu": (
        "melody-vae-16bar-bar-codes at GPU size (a 256-wide encoder, conductor and bar decoder 512 wide, batch "
        "256), sized to train in under 8 minutes on one H200 in bf16 (an estimate from melody-vae-16bar's 3.5 "
        "minutes for 7,000 steps there; no GPU has run this preset yet)",
        {**_BAR_CODES, "encoder_size": 256, "conductor_size": 512, "decoder_size": 512},
        {"steps": 5000, "batch_size": 256, "lr": 1e-3, "warmup_steps": 200, "augment_transpose": 6,
         "val_every": 500, "val_batches": 8, "checkpoint_every": 500},
    ),
    "melody-vae-16bar-musicvae-gpu": (
        "melody-vae-16bar-musicvae at GPU size (latent 512 and a 2048-unit encoder as MusicVAE, a 2x512 bar "
        "decoder, batch 256), sized to train in under 8 minutes on one H200 in bf16",
        {"bars": 16, "embed_dim": 64, "encoder_size": 2048, "latent_size": 512, "decoder": "hierarchical",
         "conductor_size": 512, "conductor_input": "zeros", "bar_state_reset": True, "decoder_size": 512,
         "decoder_layers": 2, "dropout": 0.1, "word_dropout": 0.2, "beta_max": 0.2, "kl_warmup_steps": 0,
         "free_bits": 256.0},
        {"steps": 4000, "batch_size": 256, "lr": 1e-3, "warmup_steps": 200, "augment_transpose": 6,
         "val_every": 500, "val_batches": 8, "checkpoint_every": 500},
    ),
    "melody-vae-tiny": (
        "a tiny 2-bar melody VAE for smoke tests",
        {"bars": 2, "embed_dim": 16, "encoder_size": 32, "latent_size": 8, "decoder": "flat", "decoder_size": 32,
         "decoder_layers": 1, "dropout": 0.0, "beta_max": 0.2, "kl_warmup_steps": 20},
        {"steps": 60, "batch_size": 32, "lr": 1e-2, "warmup_steps": 5, "augment_transpose": 6,
         "val_every": 30, "checkpoint_every": 30},
    ),
}


PRESETS = tuple(Preset(name=name, model="music-vae", representation="melody", description=desc,
                       model_config=dict(model), train=dict(train))
                for name, (desc, model, train) in _VAE_SETTINGS.items())
