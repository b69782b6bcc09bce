"""The shipfeed command line: parse arguments, call processors, map errors to exit codes.

Kept thin on purpose: every command's work lives in a module a test can call directly.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from config.settings import (
    SIMULATED_MERCHANT,
    SellerSettings,
    Settings,
    SettingsError,
    load_settings,
)
from feeds.errors import (
    EXIT_CODE_MEANINGS,
    ConfigError,
    ExitCode,
    ShipfeedError,
    UsageError,
    exit_codes_text,
)
from processors.convert import check_file, convert_file, convert_progress, feed_target
from processors.reports import file_summary_text, write_file_reports, write_validate_json


class _Commands(TyperGroup):
    """Click ends a wrong command line with 2, which shipfeed means as "a file was
    rejected": every error of the argument parser (a TyperException; typer.Exit is not
    one) ends with ExitCode.USAGE instead."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except TyperException as exc:
            exc.exit_code = ExitCode.USAGE
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TyperException as exc:  # a subcommand's own arguments
            exc.exit_code = ExitCode.USAGE
            raise


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=False,
    help="Confirm shipments to Amazon from shipped-order files.",
    # Tracebacks with local variables could print credentials: never show locals.
    pretty_exceptions_show_locals=False,
)


# --- settings: one loader for every command -----------------------------------------------

SettingsOpt = Annotated[
    Path | None, typer.Option("--settings", help="Settings TOML file (default: built-in).")
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for inbox, outbox, archive, ledger.")
]


@dataclass
class GlobalOptions:
    """--settings and --data-dir given before the command; they reach every command."""

    settings_path: Path | None = None
    data_dir: Path | None = None


def _fail(exc: ShipfeedError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(exc.exit_code)


def _one(name: str, here: Path | None, before: Path | None) -> Path | None:
    if here is not None and before is not None and here != before:
        raise UsageError(f"{name} given twice with different values: {before} and {here}")
    return here if here is not None else before


def load(ctx: typer.Context, settings_path: Path | None, data_dir: Path | None) -> Settings:
    """The settings for any command: its own --settings/--data-dir, or those given before
    the command name. Bad settings become a ConfigError (exit 78) naming the key."""
    given = ctx.find_object(GlobalOptions) or GlobalOptions()
    path = _one("--settings", settings_path, given.settings_path)
    folder = _one("--data-dir", data_dir, given.data_dir)
    try:
        return load_settings(path, **({} if folder is None else {"data_dir": folder}))
    except SettingsError as exc:
        raise ConfigError(str(exc)) from exc


def _seller_from(settings: Settings, name: str | None) -> SellerSettings | None:
    """The named seller; with no name, the only seller the settings list (its column map
    and its own date rules, as the service would apply them), else None (global rules)."""
    if name is None:
        return settings.sellers[0] if len(settings.sellers) == 1 else None
    try:
        return settings.seller(name)
    except KeyError as exc:
        known = ", ".join(s.name for s in settings.sellers)
        raise ConfigError(f"no seller named '{name}' in the settings (known: {known})") from exc


def _merchant_of(settings: Settings, seller: SellerSettings | None) -> str:
    """--merchant's default: the merchant id of the chosen seller, or of the only one."""
    if seller is None and len(settings.sellers) == 1:
        seller = settings.sellers[0]
    if seller is None:
        names = ", ".join(s.name for s in settings.sellers)
        raise UsageError(f"name --merchant or --seller (the settings list {names})")
    if seller.merchant_id == SIMULATED_MERCHANT:
        raise UsageError(
            "name --merchant: the settings give no merchant id (add a [[sellers]] entry "
            "with merchant_id, or pass --merchant ID)"
        )
    return seller.merchant_id


# --- validate / convert: check a file, or turn it into feed XML, by hand -----------------


@app.command()
def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The seller's file: CSV, TSV/TXT or XLSX.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    settings_path: SettingsOpt = None,
    seller: Annotated[
        str | None,
        typer.Option(help="Use this seller's column map and date rules (default: the only one)."),
    ] = None,
) -> None:
    """Check every line of FILE; exit 0 all valid, 1 some lines rejected, 2 file rejected."""
    try:
        settings = load(ctx, settings_path, None)
        chosen = _seller_from(settings, seller)
        outcome = check_file(file, settings, chosen)
    except ShipfeedError as exc:
        raise _fail(exc) from exc
    with outcome:
        if as_json:
            write_validate_json(outcome, sys.stdout)
        else:
            typer.echo(file_summary_text(outcome))
    raise typer.Exit(outcome.exit_code)


@app.command()
def convert(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The seller's file: CSV, TSV/TXT or XLSX.")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="The feed XML to write, or a folder for it.")
    ],
    merchant: Annotated[
        str | None,
        typer.Option(
            "--merchant", help="Seller (merchant) id; default: the seller's, from the settings."
        ),
    ] = None,
    max_messages: Annotated[int | None, typer.Option(min=1)] = None,
    settings_path: SettingsOpt = None,
    seller: Annotated[
        str | None,
        typer.Option(help="Use this seller's column map and date rules (default: the only one)."),
    ] = None,
) -> None:
    """Write FILE's valid lines as Order Fulfillment XML, split into OUT-1, OUT-2... if needed.

    OUT may be a folder: the feed is then FOLDER/FILE-NAME.xml. The file's report (CSV
    and JSON) is written beside the feed.
    """
    try:
        settings = load(ctx, settings_path, None)
        chosen = _seller_from(settings, seller)
        merchant_id = merchant if merchant is not None else _merchant_of(settings, chosen)
        out = feed_target(file, out)
        with convert_progress(file) as progress:
            outcome = convert_file(
                file,
                out,
                merchant_id=merchant_id,
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
        raise _fail(exc) from exc
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
    accounts: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            help="Another selling partner, repeatable: REFRESH_TOKEN:MERCHANT:REGION "
            "(its own account, served at URL/eu or URL/fe for EU and FE).",
        ),
    ] = None,
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
            accounts=accounts,
        )
    except (ValueError, OSError) as exc:
        raise ConfigError(f"simulator: {exc}") from exc
    serve_forever(sim, typer.echo, threading.Event())


# --- the service and the operator commands (logic in processors/service.py, operator.py) --


@app.callback(invoke_without_command=True, epilog="Exit codes: " + exit_codes_text() + ".")
def serve(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Process the inbox, wait for Amazon, exit.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(min=0, help="--once: give up waiting after this many seconds [600]."),
    ] = None,
    settings_path: SettingsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Without a command: run the service (intake, batches, tracking) until SIGTERM/Ctrl-C.

    With --once: take the inbox, wait for Amazon's answers, write the reports and exit
    with a code from the table below.
    """
    ctx.obj = GlobalOptions(settings_path, data_dir)
    try:
        if ctx.invoked_subcommand is not None:
            if once or timeout is not None:
                raise UsageError("--once and --timeout run the service: give them no command")
            return
        if timeout is not None and not once:
            raise UsageError("--timeout applies to --once")
        from processors.service import Service

        # --once scans the inbox on every pass: no watchdog observer to stop at the end.
        service = Service.start(load(ctx, None, None), once=once, watch=not once)
    except ShipfeedError as exc:
        raise _fail(exc) from exc
    with service, service.signals():
        if once:
            outcome = service.run_once(600.0 if timeout is None else timeout)
            typer.echo(
                f"{'SIMULATED: ' if service.simulated else ''}{len(outcome.files)} files, "
                f"{len(outcome.reports)} result reports, {outcome.open_lines} lines in flight; "
                f"exit {int(outcome.exit)} ({outcome.exit.name.lower()})"
            )
            code = int(outcome.exit)
        else:
            service.run_forever()
            code = 0
    raise typer.Exit(code)


def _operator_ledger(settings: Settings) -> Any:
    """The ledger the operator commands read and change; never a new one.

    A typo in --data-dir would otherwise create an empty ledger there and report zero
    lines, which reads like "nothing happened" instead of "wrong folder".
    """
    from sqlalchemy.engine import make_url

    from processors.operator import open_ledger

    url = make_url(settings.resolved_ledger_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise ConfigError(
            f"no ledger at {url.database}",
            hint="check --data-dir and --settings; the service creates the ledger on its first run",
        )
    return open_ledger(settings)


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    seller: Annotated[str | None, typer.Option(help="Only this seller.")] = None,
    settings_path: SettingsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Counts per status, the oldest waiting line, feeds in flight and the last error."""
    from datetime import UTC, datetime

    from processors import operator as op
    from processors import reconcile

    try:
        settings = load(ctx, settings_path, data_dir)
        with _operator_ledger(settings) as ledger:
            data = op.status_data(ledger, seller)
            due = reconcile.status_section(ledger, settings, seller, datetime.now(UTC))
    except ShipfeedError as exc:
        raise _fail(exc) from exc
    data["due_orders"] = due
    text = "\n".join([op.status_text(data), *reconcile.status_lines(due)])
    typer.echo(op.dumps(data) if as_json else text)


@app.command("queue")
def queue_cmd(
    ctx: typer.Context,
    status_: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    seller: Annotated[str | None, typer.Option(help="Only this seller.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many lines.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    settings_path: SettingsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Lines not yet ended (or in --status), oldest first, with totals."""
    from rich.console import Console

    from processors import operator as op
    from processors.ledger.statuses import LineStatus

    try:
        if status_ is not None and status_ not in {s.value for s in LineStatus}:
            known = ", ".join(s.value for s in LineStatus)
            raise UsageError(f"unknown status {status_!r} (known: {known})")
        with _operator_ledger(load(ctx, settings_path, data_dir)) as ledger:
            data = op.queue_data(ledger, status_, seller, limit)
    except ShipfeedError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(op.dumps(data))
    else:
        op.print_queue(data, Console(width=160 if not sys.stdout.isatty() else None))


@app.command()
def order(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER", help="Amazon order id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    settings_path: SettingsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Every line received for ORDER, with its full history."""
    from processors import operator as op
    from processors import reconcile

    try:
        with _operator_ledger(load(ctx, settings_path, data_dir)) as ledger:
            data = op.order_data(ledger, order_id)
            facts = reconcile.order_facts(ledger, order_id)
    except ShipfeedError as exc:
        raise _fail(exc) from exc
    data["on_amazon"] = facts
    text = "\n".join([op.order_text(data), *reconcile.order_facts_lines(facts)])
    typer.echo(op.dumps(data) if as_json else text)


@app.command()
def resend(
    ctx: typer.Context,
    orders: Annotated[list[str] | None, typer.Argument(metavar="[ORDER]...")] = None,
    errors: Annotated[bool, typer.Option("--errors", help="Every line in error.")] = False,
    stuck: Annotated[
        bool, typer.Option("--stuck", help="Submitted lines stuck past stuck_after_seconds.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Even past max_resends, or still with Amazon.")
    ] = False,
    settings_path: SettingsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Put lines back in the queue; prints what was requeued, escalated and skipped."""
    from datetime import timedelta

    from processors import operator as op

    try:
        if not (orders or errors or stuck):
            raise UsageError("name orders, or use --errors or --stuck")
        settings = load(ctx, settings_path, data_dir)
        with _operator_ledger(settings) as ledger:
            result = ledger.resend(
                order_ids=orders or [],
                errors=errors,
                stuck_older_than=timedelta(seconds=settings.service.stuck_after_seconds)
                if stuck
                else None,
                force=force,
            )
            typer.echo(
                op.resend_text(ledger, result.requeued, result.needs_attention, result.skipped)
            )
    except ShipfeedError as exc:
        raise _fail(exc) from exc


@app.command()
def correct(
    ctx: typer.Context,
    order_id: Annotated[
        str | None, typer.Argument(metavar="[ORDER]", help="Amazon order id.")
    ] = None,
    line: Annotated[int | None, typer.Option("--line", help="One line, by ledger id.")] = None,
    settings_path: SettingsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Send ORDER's conflict lines as corrections of its confirmed shipment.

    The service sends each one in its next batch with confirmShipment under the confirmed
    package's reference, which Amazon edits instead of adding a package.
    """
    from processors import operator as op

    try:
        if (order_id is None) == (line is None):
            raise UsageError("name an ORDER or a --line ID (one of them)")
        with _operator_ledger(load(ctx, settings_path, data_dir)) as ledger:
            typer.echo(op.correct_text(ledger, op.correct(ledger, order_id, line)))
    except ShipfeedError as exc:
        raise _fail(exc) from exc


@app.command()
def cancel(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER", help="Amazon order id.")],
    settings_path: SettingsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Cancel ORDER's unsent lines: they are never confirmed to Amazon."""
    try:
        with _operator_ledger(load(ctx, settings_path, data_dir)) as ledger:
            ids = ledger.cancel(order_id)
    except ShipfeedError as exc:
        raise _fail(exc) from exc
    typer.echo(f"cancelled {len(ids)} line(s) of order {order_id}")


# --- web: the operator's console (console/) -----------------------------------------------

web_app = typer.Typer(cls=_Commands, help="The web console.", add_completion=False)
app.add_typer(web_app, name="web")


@web_app.callback(invoke_without_command=True)
def web(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address (default: settings web.host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default: settings web.port, 8080).")
    ] = None,
    settings_path: SettingsOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Serve the web console until Ctrl-C (accounts: [console.accounts.*] in the secrets)."""
    if ctx.invoked_subcommand is not None:
        return
    from config.settings import load_secrets
    from console.serve import serve_forever

    try:
        settings = load(ctx, settings_path, data_dir)
        try:
            secrets = load_secrets()
        except SettingsError as exc:
            raise ConfigError(str(exc)) from None  # the cause may quote a secret
        if not secrets.console.accounts:
            typer.echo(
                "warning: no console accounts in the secrets file; nobody can log in "
                "(python run.py web hash-password)",
                err=True,
            )
        with _operator_ledger(settings) as ledger:
            serve_forever(
                settings,
                secrets,
                ledger,
                host or settings.web.host,
                settings.web.port if port is None else port,
            )
    except ShipfeedError as exc:
        raise _fail(exc) from exc


@web_app.command("hash-password")
def hash_password() -> None:
    """Ask for a password twice; print its hash for the secrets file's password_hash."""
    from console.auth import hash_password as make_hash

    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    typer.echo(make_hash(password))


@web_app.command("api-token")
def api_token(
    seller: Annotated[str, typer.Argument(help="The seller the token acts for.")],
) -> None:
    """Make a REST API token for a seller: the token to hand to the API user (shown only
    now) and the lines for the secrets file, which keeps only its SHA-256."""
    from console.api.tokens import new_token

    token, digest = new_token()
    typer.echo(f"token for the API user (shown once): {token}")
    typer.echo("add to the secrets file:")
    typer.echo(
        f'[api.tokens.{seller}-{digest[:8]}]\nseller = "{seller}"\ntoken_sha256 = "{digest}"'
    )


def main() -> None:
    try:
        app()
    except ShipfeedError as exc:  # commands raise these; the exit code travels with them
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # Python itself would end 1, "some lines rejected"
        # Any other error (a broken ledger file, a bug) is a failure, and a script must not
        # read it as some lines rejected: show the traceback as typer would, end INTERNAL.
        sys.excepthook(type(exc), exc, exc.__traceback__)
        meaning = EXIT_CODE_MEANINGS[ExitCode.INTERNAL]
        typer.echo(f"error: {type(exc).__name__} (traceback above); {meaning}", err=True)
        sys.exit(ExitCode.INTERNAL)


if __name__ == "__main__":
    main()
