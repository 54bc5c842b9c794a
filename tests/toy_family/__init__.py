"""A throwaway model family, registered only by the test that proves adding a family
is one folder plus one registry line: a unigram model over melody tokens (each step
token drawn from one learnt distribution), sampled by the shared melody grammar
walker (:mod:`seqart.generate.melody`)."""

from seqart.models.registry import ModelType
from tests.toy_family.config import UnigramConfig
from tests.toy_family.presets import PRESETS

MODEL_TYPES = (
    ModelType(name="toy-unigram", family="toy_family", config=UnigramConfig,
              model="tests.toy_family.model:Unigram", generator="tests.toy_family.sampler:UnigramGenerator",
              representation="melody", presets=PRESETS, tiny_preset="toy-unigram-tiny"),
)
