"""``python -m seqart ...`` (and ``torchrun ... -m seqart train ...``) run the seqart CLI."""

from seqart.cli import run

if __name__ == "__main__":
    run()
