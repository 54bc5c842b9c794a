"""Run the seqart command line from a checkout: ``python cli.py --help``."""
from seqart.cli import run

if __name__ == "__main__":
    run()
