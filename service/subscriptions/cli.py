"""``geoalert subscriptions ...``: small tools for the subscriptions file."""

from __future__ import annotations

import argparse
from typing import Any

from notifiers.webhook import new_secret


def _new_secret(args: argparse.Namespace) -> int:
    print(new_secret())
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser("subscriptions", help="tools for the subscriptions file")
    tools = parser.add_subparsers(dest="tool", required=True, metavar="TOOL")
    secret = tools.add_parser(
        "new-secret", help="print a new webhook signing secret (whsec_...) for webhook.secret in the file"
    )
    secret.set_defaults(func=_new_secret)
