"""The visual side of seqart: image data and image evaluation.

- :mod:`seqart.images.data`: :class:`~seqart.images.data.ImageDataset` (an image
  folder, MNIST or scikit-learn's 8x8 digits) as ``uint8`` arrays ``(N, C, H, W)``.
- :mod:`seqart.images.evaluate`: FID-CNN, KID, precision/recall and mode coverage
  on the features of a small MNIST classifier.
The models (``dcgan``, ``image-vae``) are a model family, :mod:`seqart.models.images`,
with its sampler (grids, single PNGs, latent walks, also driven by a melody); they
train on the one trainer like every other model. Importing this package is cheap.
"""
