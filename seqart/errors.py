"""Exceptions seqart raises for bad input.

Every one carries a one-line message meant for the user; the command line prints
it as ``error: <message>`` and exits with status 2, never with a traceback.
"""


class SeqartError(Exception):
    """Base class: a problem with the user's input, with a one-line message."""


class OutputExistsError(SeqartError):
    """A file or folder to be written exists and the caller did not ask to replace it.

    The command line says which option replaces it (``--force``); the library says
    which argument does (``overwrite=True``).
    """

    def __init__(self, path, what: str = "it"):
        self.path = str(path)
        super().__init__(f"{self.path} exists; pass overwrite=True to replace {what}")


class RunExistsError(SeqartError):
    """A run folder already holds a run and the caller did not ask to resume it.

    The command line says which option resumes it (``--resume``); the library says
    which argument does (``resume=True``).
    """

    def __init__(self, path):
        self.path = str(path)
        super().__init__(f"{self.path} already holds a run; resume=True continues it, or choose another folder")


def one_line(error: BaseException | str, limit: int = 160) -> str:
    """An error (or any text) as one line for a message: line breaks and runs of
    spaces folded into single spaces, cut to ``limit`` characters (ending in ``...``);
    an exception without text gives its type's name."""
    text = " ".join(str(error).split())
    if not text and isinstance(error, BaseException):
        text = type(error).__name__
    return text if len(text) <= limit else text[: max(limit - 3, 1)].rstrip() + "..."


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
