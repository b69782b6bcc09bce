"""The shipfeed command line: parse arguments, call processors, map errors to exit codes.

Kept thin on purpose: every command's work lives in a module a test can call directly.
"""

from __future__ import annotations

import sys

import typer

from feeds.errors import ShipfeedError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="Confirm shipments to Amazon from shipped-order files.",
    # Tracebacks with local variables could print credentials: never show locals.
    pretty_exceptions_show_locals=False,
)


def main() -> None:
    try:
        app()
    except ShipfeedError as exc:  # commands raise these; the exit code travels with them
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
