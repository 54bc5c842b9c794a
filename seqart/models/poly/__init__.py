"""Polyphonic frame models over piano-roll frames: ``poly-lstm`` (one independent
Bernoulli per key) and ``poly-nade`` (the keys of a frame modelled jointly); sampled
frame by frame with torch (:mod:`.sampler`)."""

from seqart.models.poly.config import PolyLSTMConfig, PolyNADEConfig
from seqart.models.poly.presets import POLY_LSTM_PRESETS, POLY_NADE_PRESETS
from seqart.models.registry import ModelType

MODEL_TYPES = (
    ModelType(name="poly-lstm", family="poly", config=PolyLSTMConfig, model="seqart.models.poly.model:PolyLSTM",
              generator="seqart.models.poly.sampler:FrameGenerator", representation="pianoroll",
              presets=POLY_LSTM_PRESETS, tiny_preset="poly-lstm-tiny"),
    ModelType(name="poly-nade", family="poly", config=PolyNADEConfig, model="seqart.models.poly.model:PolyNADE",
              generator="seqart.models.poly.sampler:FrameGenerator", representation="pianoroll",
              presets=POLY_NADE_PRESETS, tiny_preset="poly-nade-tiny"),
)
