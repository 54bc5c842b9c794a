"""Run the seqart command line from a checkout: ``python cli.py --help``."""
from seqart.cli import app

if __name__ == "__main__":
    app()
