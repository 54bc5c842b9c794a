"""Exceptions seqart raises for bad input.

Every one carries a one-line message meant for the user; the command line prints
it as ``error: <message>`` and exits with status 2, never with a traceback.
"""


class SeqartError(Exception):
    """Base class: a problem with the user's input, with a one-line message."""


class ScoreError(SeqartError, ValueError):
    """A score (or a value describing one: key, range, meter) is unusable."""


class ScoreReadError(SeqartError):
    """A file could not be read as music. The message names the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    @classmethod
    def from_os_error(cls, path, exc: OSError) -> "ScoreReadError":
        """The one-line error for a file that could not be opened or read."""
        if isinstance(exc, FileNotFoundError):
            reason = "no such file"
        elif isinstance(exc, IsADirectoryError):
            reason = "is a directory, not a file"
        elif isinstance(exc, PermissionError):
            reason = "permission denied"
        else:
            reason = f"cannot read ({exc.strerror or exc})"
        return cls(path, reason)


class CorpusError(SeqartError):
    """A corpus source holds no usable music, or a built corpus folder is invalid."""


class TokenizerError(SeqartError, ValueError):
    """A score cannot be encoded (or a token sequence decoded) by a tokenizer."""


class ModelError(SeqartError):
    """A model name, folder or configuration is unknown or invalid."""
