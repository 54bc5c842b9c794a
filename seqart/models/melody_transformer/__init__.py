"""The melody transformer: a decoder-only transformer over ``melody`` tokens.

``melody-transformer`` predicts the next token from everything before it (up to
its context) through causal self-attention with rotary, relative positions: it
can look back at an earlier bar and restate it, which a recurrent state must
remember instead. It trains on the one trainer with the melody LSTM's token
windows, samples through a NumPy forward pass with a key/value cache
(:mod:`.numpy_transformer`) under the same melody grammar and hard constraints,
and is tuned on ratings with the LSTM's feedback objective (:mod:`.tuning`).
"""

from seqart.models.melody_transformer.config import MelodyTransformerConfig
from seqart.models.melody_transformer.presets import PRESETS
from seqart.models.registry import ModelType

MODEL_TYPES = (
    ModelType(name="melody-transformer", family="melody_transformer", config=MelodyTransformerConfig,
              model="seqart.models.melody_transformer.model:MelodyTransformer",
              generator="seqart.models.melody_transformer.sampler:TransformerMelodyGenerator",
              representation="melody", presets=PRESETS, tiny_preset="melody-transformer-tiny",
              tuner="seqart.models.melody_transformer.tuning:FeedbackTransformer", also_reads=("events",)),
)
