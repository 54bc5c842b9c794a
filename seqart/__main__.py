"""``python -m seqart ...`` (and ``torchrun ... -m seqart train ...``) run the seqart CLI."""

from seqart.cli import app

if __name__ == "__main__":
    app(prog_name="seqart")
