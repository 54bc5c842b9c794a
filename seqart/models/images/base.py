"""What the image models (DCGAN, image VAE) share: the data they read."""

from __future__ import annotations

from typing import ClassVar

from seqart.models.base import SeqartModel


class ImageModel(SeqartModel):
    """Base of the models that read the ``images`` representation: batches of
    images ``(B, C, H, W)`` in ``[-1, 1]``, sized by the data's tokenizer."""

    item_name: ClassVar[str] = "image"

    @classmethod
    def data_config(cls, tokenizer) -> dict:
        """``size`` and ``channels`` from the data's :class:`~seqart.tokenizers.images.ImageTokenizer`."""
        from seqart.errors import ModelError

        if getattr(tokenizer, "name", None) != "images":
            raise ModelError(f"{cls.registry_name} reads images (seqart train PRESET --data IMAGE_FOLDER|mnist|digits)")
        return {"size": tokenizer.size, "channels": tokenizer.channels}

    @classmethod
    def data(cls, sequences, tokenizer, train, seed: int, training: bool, config=None):
        """Batches of images ``(B, C, H, W)`` in ``[-1, 1]`` from ``uint8`` ``(N, C, H, W)``."""
        from seqart.images.data import ImageBatches

        return ImageBatches(sequences, batch_size=train.batch_size, seed=seed)
