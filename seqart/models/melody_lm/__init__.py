"""Melody language models: a model over ``melody`` tokens that predicts the next token.

``melody-lstm`` is an LSTM (or GRU) language model; it samples through a NumPy
forward pass (:mod:`.numpy_lstm`) under the melody grammar and hard musical
constraints (:mod:`seqart.generate.melody`), and can be tuned on a composer's
ratings (:mod:`.tuning`). Trained on multi-track ``events`` tokens (presets ``events-*``)
it samples through :mod:`.events_generator` under the events grammar.
"""

from seqart.models.melody_lm.config import MelodyLSTMConfig
from seqart.models.melody_lm.presets import PRESETS
from seqart.models.registry import ModelType

MODEL_TYPES = (
    ModelType(name="melody-lstm", family="melody_lm", config=MelodyLSTMConfig,
              model="seqart.models.melody_lm.model:MelodyLSTM",
              generator="seqart.models.melody_lm.sampler:MelodyGenerator", representation="melody",
              presets=PRESETS, tiny_preset="melody-lstm-tiny",
              tuner="seqart.models.melody_lm.tuning:FeedbackLSTM", also_reads=("events",)),
)
