"""Command-line tools for rules: ``geoalert match`` and ``geoalert rules ...``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the rule tools' subcommands to the ``geoalert`` parser."""
