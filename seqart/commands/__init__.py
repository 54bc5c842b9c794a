"""Typer command modules, one per command group. Each command parses options,
calls the Python API and prints; heavy imports stay inside the command bodies."""
