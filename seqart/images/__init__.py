"""The visual side of seqart: image data, sampling, latent walks and evaluation.

- :mod:`seqart.images.data`: :class:`~seqart.images.data.ImageDataset` (an image
  folder, MNIST or scikit-learn's 8x8 digits) as ``uint8`` arrays ``(N, C, H, W)``.
- :mod:`seqart.images.evaluate`: FID-CNN, KID, precision/recall and mode coverage
  on the features of a small MNIST classifier.
- :mod:`seqart.models.images.sampler`: sampling grids, single PNGs and latent walks
  (also driven by a melody).

The models themselves (``dcgan``, ``image-vae``) live in :mod:`seqart.models` and
train on the one trainer like every other model. Importing this package is cheap.
"""
