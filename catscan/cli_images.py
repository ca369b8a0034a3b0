"""CLI subcommands for images (filled in by its issue)."""

from __future__ import annotations

import argparse


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the catscan parser."""
