"""Benchmarks that run from the command line (``seqart bench ...``) and the API."""
