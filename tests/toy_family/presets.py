"""The toy family's one preset."""

from seqart.models.registry import Preset

PRESETS = (
    Preset(name="toy-unigram-tiny", model="toy-unigram", representation="melody",
           description="a unigram model over melody tokens (a test's throwaway family)",
           model_config={}, train={"steps": 20, "batch_size": 8, "seq_len": 32, "lr": 0.05, "warmup_steps": 0,
                                   "val_every": 10, "checkpoint_every": 10}),
)
