"""Workflows: what a command does, as one Python call with typed arguments, which the
CLI parses its options into and prints the result of.

- :mod:`.sample`: ``sample_to_files`` (any model type; music files or PNGs);
- :mod:`.train`: ``train`` (a preset on a corpus; ``init_from`` a trained model, on
  any music) and ``train_in_processes`` (DistributedDataParallel under torchrun);
- :mod:`.tune`: ``tune``, ``tune_from_feedback`` (a model on a composer's ratings);
- :mod:`.latent`: ``interpolate_to_files``, ``vary_to_files``, ``shift_to_file``;
- :mod:`.images`: ``walk_to_gif``, ``evaluate_image_target``;
- :mod:`.rate`: ``music_files``, ``rate_files``.

Errors describe values (``steps must be at least 1, got 0``); the command line adds
which of its options to change where that differs from the argument's name.
"""
