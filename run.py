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


# --- simulator: a local, simulated Amazon SP-API over real HTTP ---------------------------


@app.command()
def simulator(
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free port.")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    orders: Annotated[
        Path | None, typer.Option(help="Order book JSON; default: a generated book.")
    ] = None,
    faults: Annotated[
        list[str] | None,
        typer.Option(
            "--faults",
            help="Fault spec, repeatable: throttle=0.1, slow=0.1:2.0, "
            "drop_after=createFeed:1, gzip ...",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for generated orders and faults.")] = 0,
    auto_create_orders: Annotated[
        bool, typer.Option("--auto-create-orders", help="Treat unknown orders as unshipped.")
    ] = False,
    processing_delay: Annotated[
        float, typer.Option(min=0, help="Seconds a feed spends IN_QUEUE and IN_PROGRESS.")
    ] = 0.0,
    no_rate_limits: Annotated[
        bool, typer.Option("--no-rate-limits", help="Do not enforce Amazon's rate limits.")
    ] = False,
) -> None:
    """Serve a SIMULATED Amazon (LWA, Feeds, Orders) until Ctrl-C; prints the URL it uses."""
    import threading

    from feeds.simulator.serve import build, serve_forever

    try:
        sim = build(
            host=host,
            port=port,
            orders=orders,
            faults=faults,
            seed=seed,
            auto_create_orders=auto_create_orders,
            processing_delay=processing_delay,
            enforce_rate_limits=not no_rate_limits,
        )
    except (ValueError, OSError) as exc:
        raise ConfigError(f"simulator: {exc}") from exc
    serve_forever(sim, typer.echo, threading.Event())


def main() -> None:
    try:
        app()
    except ShipfeedError as exc:  # commands raise these; the exit code travels with them
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
