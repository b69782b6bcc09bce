"""The shipfeed command line: parse arguments, call processors, map errors to exit codes.

Kept thin on purpose: every command's work lives in a module a test can call directly.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from config.settings import SellerSettings, Settings, load_settings
from feeds.errors import ConfigError, ShipfeedError
from processors.convert import check_file, convert_file, convert_progress
from processors.reports import file_summary_text, write_file_reports, write_validate_json

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="Confirm shipments to Amazon from shipped-order files.",
    # Tracebacks with local variables could print credentials: never show locals.
    pretty_exceptions_show_locals=False,
)


# --- validate / convert: check a file, or turn it into feed XML, by hand -----------------


def _settings_from(path: Path | None) -> Settings:
    """Settings for a one-off command; bad settings become a ConfigError (exit 78)."""
    try:
        return load_settings(path)
    except (ValueError, OSError) as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"settings: {exc}") from exc


def _seller_from(settings: Settings, name: str | None) -> SellerSettings | None:
    if name is None:
        return None
    try:
        return settings.seller(name)
    except KeyError as exc:
        known = ", ".join(s.name for s in settings.sellers)
        raise ConfigError(f"no seller named '{name}' in the settings (known: {known})") from exc


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="The seller's file: CSV, TSV/TXT or XLSX.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    settings_path: Annotated[Path | None, typer.Option("--settings")] = None,
    seller: Annotated[str | None, typer.Option(help="Use this seller's column map.")] = None,
) -> None:
    """Check every line of FILE; exit 0 all valid, 1 some lines rejected, 2 file rejected."""
    try:
        settings = _settings_from(settings_path)
        chosen = _seller_from(settings, seller)
        outcome = check_file(file, settings, chosen)
    except ShipfeedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from exc
    with outcome:
        if as_json:
            write_validate_json(outcome, sys.stdout)
        else:
            typer.echo(file_summary_text(outcome))
    raise typer.Exit(outcome.exit_code)


@app.command()
def convert(
    file: Annotated[Path, typer.Argument(help="The seller's file: CSV, TSV/TXT or XLSX.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="The feed XML to write.")],
    merchant: Annotated[str, typer.Option("--merchant", help="Seller (merchant) id.")],
    max_messages: Annotated[int | None, typer.Option(min=1)] = None,
    settings_path: Annotated[Path | None, typer.Option("--settings")] = None,
    seller: Annotated[str | None, typer.Option(help="Use this seller's column map.")] = None,
) -> None:
    """Write FILE's valid lines as Order Fulfillment XML, split into OUT-1, OUT-2... if needed.

    The file's report (CSV and JSON) is written beside OUT.
    """
    try:
        settings = _settings_from(settings_path)
        chosen = _seller_from(settings, seller)
        with convert_progress(file) as progress:
            outcome = convert_file(
                file,
                out,
                merchant_id=merchant,
                settings=settings,
                max_messages=max_messages,
                progress=progress,
                seller=chosen,
            )
        with outcome:
            reports = write_file_reports(outcome, out.parent)
            typer.echo(file_summary_text(outcome))
            typer.echo("report: " + ", ".join(str(p) for p in reports))
    except ShipfeedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from exc
    raise typer.Exit(outcome.exit_code)


def main() -> None:
    try:
        app()
    except ShipfeedError as exc:  # commands raise these; the exit code travels with them
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
