"""Presets of the polyphonic frame models: one per benchmark (figures in the README), and a tiny one each."""

from __future__ import annotations

from seqart.models.registry import Preset

#: frame-model settings per polyphonic benchmark: (model config, training settings);
#: the figures these give are in the README (``seqart bench polyphonic``)
_POLY_COMMON = {"lr": 2e-3, "warmup_steps": 100, "early_stop_patience": 10, "augment_transpose": 0}
_POLY_LSTM_SMALL = ({"hidden_size": 38, "num_layers": 1, "dropout": 0.0},  # Chung et al.'s size, ~23k parameters
                    {"steps": 2000, "batch_size": 16, "seq_len": 128, "lr": 1e-2, "val_every": 100,
                     "checkpoint_every": 100})
_POLY_LSTM_LARGE = ({"hidden_size": 256, "num_layers": 1, "dropout": 0.0},
                    {"steps": 8000, "batch_size": 16, "seq_len": 128, "lr": 3e-3, "val_every": 250,
                     "checkpoint_every": 250})
_NADE = {"hidden_size": 256, "num_layers": 1, "dropout": 0.5, "inner": "note-lstm", "inner_size": 64,
         "context_size": 64, "window": 12, "pitch_embed": 16}
_POLY_SETTINGS = {
    "poly-lstm": {
        "jsb": (_POLY_LSTM_SMALL[0], {**_POLY_LSTM_SMALL[1], "seq_len": 64}),
        # transposition augmentation helps where the sets are in many keys (not JSB: all in C)
        "nottingham": (_POLY_LSTM_LARGE[0], {**_POLY_LSTM_LARGE[1], "augment_transpose": 6}),
        "musedata": (_POLY_LSTM_LARGE[0], {**_POLY_LSTM_LARGE[1], "augment_transpose": 6, "steps": 24000,
                                           "early_stop_patience": 20}),
        "piano": (_POLY_LSTM_SMALL[0], {**_POLY_LSTM_SMALL[1], "steps": 4000}),
    },
    "poly-nade": {
        "jsb": (_NADE, {"steps": 2000, "batch_size": 16, "seq_len": 64, "val_every": 50, "checkpoint_every": 100,
                        "early_stop_patience": 12}),
        "nottingham": (_NADE, {"steps": 3000, "batch_size": 8, "seq_len": 128, "val_every": 250,
                               "checkpoint_every": 250}),
        "musedata": (_NADE, {"steps": 3000, "batch_size": 8, "seq_len": 128, "val_every": 250,
                             "checkpoint_every": 250}),
        "piano": (_NADE, {"steps": 3000, "batch_size": 8, "seq_len": 128, "val_every": 250,
                          "checkpoint_every": 250}),
    },
}
_POLY_DESCRIPTIONS = {
    "poly-lstm": "LSTM over 88-key frames, one independent Bernoulli per key (the published LSTM baseline)",
    "poly-nade": "LSTM over frames; a note-axis LSTM models each frame's keys jointly (RNN-NADE family)",
}



_TINY = {
    "poly-lstm": {"hidden_size": 16, "num_layers": 1, "dropout": 0.0},
    "poly-nade": {"hidden_size": 16, "num_layers": 1, "dropout": 0.0, "inner": "note-lstm", "inner_size": 8,
                  "context_size": 4, "window": 2, "pitch_embed": 3},
}


def _presets(model: str) -> tuple[Preset, ...]:
    """``MODEL-DATASET`` for the four polyphonic benchmarks, then ``MODEL-tiny``."""
    out = [Preset(name=f"{model}-{dataset}", model=model, representation="pianoroll",
                  description=f"{_POLY_DESCRIPTIONS[model]}; {dataset} benchmark",
                  model_config=dict(model_config), train={**_POLY_COMMON, **train})
           for dataset, (model_config, train) in _POLY_SETTINGS[model].items()]
    out.append(Preset(name=f"{model}-tiny", model=model, representation="pianoroll",
                      description=f"a tiny {model} for smoke tests", model_config=dict(_TINY[model]),
                      train={"steps": 20, "batch_size": 4, "seq_len": 16, "lr": 1e-2, "warmup_steps": 0,
                             "val_every": 10, "val_batches": 2, "checkpoint_every": 10}))
    return tuple(out)


POLY_LSTM_PRESETS = _presets("poly-lstm")
POLY_NADE_PRESETS = _presets("poly-nade")
