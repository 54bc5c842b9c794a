"""Small helpers shared across seqart (no heavy imports here)."""
