"""Synthetic survey data: realistic release-format rows for demos, tests and benchmarks."""
