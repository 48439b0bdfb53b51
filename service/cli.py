"""The ``geoalert`` command line."""

from __future__ import annotations

import argparse

from service.matching import cli as matching_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="geoalert", description="geopolitical news alerts")
    subparsers = parser.add_subparsers(dest="command", required=True)
    matching_cli.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code
