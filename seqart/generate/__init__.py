"""Generation: load a trained model and sample from it.

>>> import seqart
>>> gen = seqart.load("folk")
>>> melodies = gen.sample(num=4, bars=8, key="D minor", seed=1)
"""

from seqart.generate.generator import Generator, load_generator

__all__ = ["Generator", "load_generator"]
