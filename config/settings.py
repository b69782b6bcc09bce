"""Settings: one validated model, read from a TOML file and the environment.

Secrets (LWA client id/secret/refresh token, SFTP passwords and keys) are never read from
the settings file: they come from the environment or a separate secrets file, and are kept
as ``SecretStr`` so that printing settings or logging them never shows them.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from config.regions import MARKETPLACES, marketplace_problem

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")

#: The merchant id of the seller made up when the settings list none: a placeholder the
#: simulator accepts, never a real seller's id.
SIMULATED_MERCHANT = "SIMULATED"

#: The marketplace of the seller made up when the settings list none, by region.
MAIN_MARKETPLACE = {"NA": "ATVPDKIKX0DER", "EU": "A1F83G8C2ARO7P", "FE": "A1VC38T7YXB528"}

#: Ledger backends shipfeed is built and tested for.
LEDGER_BACKENDS = ("sqlite", "postgresql")


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the file, the key path and why.

    Raised by :func:`load_settings` for every kind of problem (unreadable file, TOML
    syntax, unknown key, bad value) so callers have one thing to catch.
    """


class Section(BaseModel):
    """A settings section: an unknown key is an error, never silently ignored (a
    misspelled ``batch_interval`` would otherwise leave the default in force), and
    infinite or NaN numbers are refused (an infinite interval never runs its step)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _http_url(value: str | None) -> str | None:
    """An SP-API or LWA address: http(s) with a host, or the first call fails instead."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _box_location(value: str) -> str:
    """A seller's inbox or outbox: a non-empty path, or sftp://user@host[:port]/path."""
    if not value.strip():
        raise ValueError("must be a folder path or an sftp:// URL")
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme != "sftp" or not parts.hostname:
            raise ValueError("a URL here must be sftp://user@host[:port]/path")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("the sftp:// URL has a port that is not a number") from None
    return value


def _known_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
        ) from exc
    return name


class ValidationSettings(Section):
    timezone: str = "UTC"  # the seller's zone, for ship dates written without one
    future_tolerance_minutes: int = Field(60, ge=0)  # clocks differ; beyond this is an error
    max_age_days: int = Field(60, ge=1)  # older ship dates are almost surely typos
    strict_tracking: bool = False  # tracking format mismatch: warning (False) or error (True)
    date_order: Literal["US", "EU"] = "US"  # how to read 03/04/2026

    _timezone = field_validator("timezone")(_known_timezone)


class FeedSettings(Section):
    document_version: str = "1.01"
    # Amazon's feed guidance: keep XML feeds well under 10 MB and, for order feeds,
    # batch rather than send tiny feeds; createFeed is throttled to one call per two minutes.
    max_messages: int = Field(30_000, ge=1)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)


Region = Literal["NA", "EU", "FE"]


class SpApiSettings(Section):
    # The region of every seller that names none ([[sellers]] region) and whose
    # marketplaces do not say it; the region picks the SP-API endpoint.
    region: Region = "NA"
    endpoint: str | None = None  # any URL overrides every region's endpoint (the simulator)
    # One region's endpoint overridden: {EU = "https://..."}; wins over ``endpoint``.
    endpoints: dict[Region, str] = Field(default_factory=dict)
    token_url: str = "https://api.amazon.com/auth/o2/token"  # LWA, one for every region

    _urls = field_validator("endpoint", "token_url")(_http_url)

    @field_validator("endpoints")
    @classmethod
    def _region_urls(cls, v: dict[str, str]) -> dict[str, str]:
        for region, url in v.items():
            try:
                _http_url(url)
            except ValueError as exc:
                raise ValueError(f"{region}: {exc}") from None
        return v

    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=0)
    # Mirror Amazon's orders (processors/mirror.py) and check queued lines against the
    # mirror before sending (cancelled, shipped, ship level); reconciliation reads it too.
    use_orders_api: bool = True
    # Scales how many queued lines the batcher reads ahead for the checks (x 50 lines).
    order_lookups_per_batch: int = Field(100, ge=0)
    # A line whose order the mirror has not read yet waits at most this long, then is
    # sent anyway: Amazon's own answer to the feed is the final word.
    mirror_wait_seconds: float = Field(60.0, ge=0)
    # The first mirror pass reads the orders Amazon changed in these last days.
    mirror_days: int = Field(14, ge=1)
    # Reconciliation: an open order no file mentioned is "due" this close to its
    # LatestShipDate (or past it).
    due_within_hours: float = Field(24.0, ge=0)
    # A line confirmed this long ago whose order Amazon still shows unshipped for its
    # item needs attention.
    still_unshipped_after_hours: float = Field(4.0, gt=0)


class SimulatorSettings(Section):
    """The built-in SP-API simulator used when no SP-API credentials are set."""

    enabled: Literal["auto", "always", "never"] = "auto"
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)  # 0: a free port
    processing_delay_seconds: float = Field(1.0, ge=0)
    auto_create_orders: bool = True


class ServiceSettings(Section):
    batch_interval_seconds: float = Field(300.0, gt=0)  # "batches sent every few minutes"
    poll_interval_seconds: float = Field(60.0, gt=0)
    inbox_scan_seconds: float = Field(30.0, gt=0)  # rescan for what events missed
    settle_seconds: float = Field(5.0, ge=0)  # a file must be unchanged this long
    stuck_after_seconds: float = Field(3600.0, gt=0)  # "over an hour in one status"
    max_resends: int = Field(3, ge=0)  # then needs_attention
    direct_threshold: int = Field(0, ge=0)  # <= this many orders waiting: confirmShipment
    archive_retention_days: int = Field(90, ge=1)
    # Several workers on one PostgreSQL ledger divide the sellers' inboxes by leases that
    # expire: a killed worker's sellers are taken over within about this long.
    inbox_lease_seconds: float = Field(60.0, ge=3)
    # Sellers whose inboxes and outboxes are polled at the same time, each waited for at
    # most inbox_timeout_seconds per pass (a dead SFTP server then costs only its seller).
    inbox_pool_size: int = Field(8, ge=1, le=256)
    inbox_timeout_seconds: float = Field(120.0, gt=0)


class EmailSettings(Section):
    enabled: bool = False  # Amazon emails buyers itself; this is an opt-in extra
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    sender: str = "shipping@example.com"


class WebSettings(Section):
    """The web console (console/): off in the service unless asked for; loopback only
    unless told otherwise, because it shows every seller's orders."""

    enabled: bool = False  # serve the console inside the service, in a thread
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class AlertSettings(Section):
    """Alerts to people (processors/alerts.py). Where they go (apprise URLs) is in the
    secrets file, ``[alerts]``: they carry tokens and passwords."""

    # One digest per destination per interval: a feed going FATAL with 30,000 lines is
    # one message, not 30,000.
    digest_seconds: float = Field(300.0, ge=0)
    # An inbox or outbox failing this long is alerted (a short SFTP hiccup is not).
    unreachable_after_seconds: float = Field(900.0, ge=0)
    # Facts older than this are history: a first run on an old ledger does not alert them.
    lookback_days: int = Field(7, ge=1)
    # Items listed per kind in one digest; the rest are counted.
    max_listed: int = Field(50, ge=1)


class SellerSettings(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    merchant_id: str
    marketplace_id: str = "ATVPDKIKX0DER"  # amazon.com; the seller's main marketplace
    # Further marketplaces of the same region the seller sells in (feeds and order
    # lookups name them all); marketplace_id stays the one reports and links use.
    marketplace_ids: list[str] = Field(default_factory=list)
    # The SP-API region; None: [spapi] region when set there, else its marketplaces' own.
    region: Region | None = None
    inbox: str  # a path, or sftp://user@host:port/path
    outbox: str

    _boxes = field_validator("inbox", "outbox")(_box_location)
    # A key into the secrets, never the secret itself: [sftp.NAME] for the inbox and
    # outbox login, [lwa.NAME] for the Amazon account's refresh token (none: the default
    # lwa_refresh_token). Sellers naming one refresh token share one Amazon account.
    credentials: str = "default"
    column_map: dict[str, str] = Field(default_factory=dict)  # seller header -> field
    known_hosts: str | None = None  # for sftp:// inboxes
    trust_on_first_use: bool = False
    sheet: str | None = None  # XLSX sheet name; first sheet when None
    # Result reports besides the JSON (always written, for machines): the CSV, and an XLSX
    # whose id and tracking columns are text, so Excel does not mangle 14-22 digit numbers.
    report_formats: list[Literal["csv", "xlsx", "json"]] = ["csv", "xlsx"]
    # Each seller's own values where its files differ from the rest; None: the global one
    # ([validation] / [service]). Resolved by Settings.validation_for / settle_seconds_for.
    timezone: str | None = None
    date_order: Literal["US", "EU"] | None = None
    max_age_days: int | None = Field(None, ge=1)
    strict_tracking: bool | None = None
    settle_seconds: float | None = Field(None, ge=0)
    # Inbox controls legacy exporters need. done_marker: FILE.done beside FILE makes it
    # ready at once, without waiting to settle, and is removed with the claim (a file
    # without a marker is still taken once settled). include / exclude: shell-style
    # name patterns (*.csv, orders_*), matched ignoring case; a file is taken when it
    # matches some include pattern (or none are set) and no exclude pattern. Files left
    # out stay in the inbox untouched.
    done_marker: bool = False
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _own_timezone(cls, v: str | None) -> str | None:
        return None if v is None else _known_timezone(v)

    @property
    def marketplaces(self) -> list[str]:
        """Every marketplace the seller serves, its main one first, each once."""
        return list(dict.fromkeys([self.marketplace_id, *self.marketplace_ids]))


class SftpSecret(Section):
    password: SecretStr | None = None
    private_key_path: str | None = None
    private_key_passphrase: SecretStr | None = None


class ConsoleAccount(Section):
    """A console login: an operator sees every seller, a seller account only its own."""

    password_hash: SecretStr  # argon2 hash (python run.py web hash-password)
    role: Literal["operator", "seller"] = "operator"
    seller: str | None = None  # the seller's name, for role "seller"

    @model_validator(mode="after")
    def _seller_named(self) -> ConsoleAccount:
        if (self.role == "seller") != (self.seller is not None):
            raise ValueError("a seller account names its seller; an operator account none")
        return self


class ConsoleSecrets(Section):
    # Signs the session cookie; None: a key generated once into the data dir (mode 0600).
    session_key: SecretStr | None = None
    accounts: dict[str, ConsoleAccount] = Field(default_factory=dict)


class AlertSecrets(Section):
    """Apprise URLs (mailto://, slack://, json://, ...). Operators get every alert; a
    seller listed under ``sellers`` (opt-in) gets its own seller's alerts too."""

    operators: list[SecretStr] = Field(default_factory=list)
    sellers: dict[str, list[SecretStr]] = Field(default_factory=dict)


class ApiToken(Section):
    """A REST API token (console/api): it acts for one seller only. Stored as the SHA-256
    of the token, which is random and long (python run.py web api-token makes one), so a
    fast hash is enough and each request is checked without argon2's cost."""

    seller: str
    token_sha256: SecretStr


class ApiSecrets(Section):
    tokens: dict[str, ApiToken] = Field(default_factory=dict)  # name -> token


class LwaAccountSecret(Section):
    """One selling-partner account's authorisation of the application ([lwa.NAME])."""

    refresh_token: SecretStr


class Secrets(Section):
    console: ConsoleSecrets = ConsoleSecrets()
    alerts: AlertSecrets = AlertSecrets()
    api: ApiSecrets = ApiSecrets()
    # The one LWA application of the deployment.
    lwa_client_id: SecretStr | None = None
    lwa_client_secret: SecretStr | None = None
    # The refresh token of every seller without one of its own under [lwa.NAME].
    lwa_refresh_token: SecretStr | None = None
    lwa: dict[str, LwaAccountSecret] = Field(default_factory=dict)  # credentials name -> token
    sftp: dict[str, SftpSecret] = Field(default_factory=dict)

    @property
    def has_spapi(self) -> bool:
        """The application is set, and at least one account's refresh token."""
        return bool(
            self.lwa_client_id and self.lwa_client_secret and (self.lwa_refresh_token or self.lwa)
        )

    def refresh_token_for(self, credentials: str) -> SecretStr | None:
        """The refresh token a seller naming ``credentials`` logs in with, if any."""
        own = self.lwa.get(credentials)
        return own.refresh_token if own is not None else self.lwa_refresh_token


class Settings(BaseModel):
    """Everything shipfeed is told. Environment: SHIPFEED_<SECTION>__<KEY> (read by
    :func:`load_settings`, see :func:`environment_overrides`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    data_dir: Path = Path("var")
    ledger_url: str | None = None  # None: SQLite file in data_dir
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    validation: ValidationSettings = ValidationSettings()
    feed: FeedSettings = FeedSettings()
    spapi: SpApiSettings = SpApiSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    service: ServiceSettings = ServiceSettings()
    email: EmailSettings = EmailSettings()
    web: WebSettings = WebSettings()
    alerts: AlertSettings = AlertSettings()
    sellers: list[SellerSettings] = Field(default_factory=list)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("ledger_url")
    @classmethod
    def _sqlite_or_postgresql(cls, v: str | None) -> str | None:
        """Refused at start: any other URL would only fail at the first ledger step."""
        if not v:
            return None
        # Here, not at import: `validate` and `convert` never load SQLAlchemy.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(v).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL (sqlite:///PATH or postgresql://...)") from None
        if backend not in LEDGER_BACKENDS:
            raise ValueError(f"the ledger runs on SQLite or PostgreSQL, not {backend}")
        return v

    @model_validator(mode="after")
    def _default_seller(self) -> Settings:
        if not self.sellers:
            self.sellers = [
                SellerSettings(
                    name="default",
                    merchant_id=SIMULATED_MERCHANT,
                    marketplace_id=MAIN_MARKETPLACE[self.spapi.region],
                    inbox=str(self.data_dir / "inbox"),
                    outbox=str(self.data_dir / "outbox"),
                )
            ]
        names = [s.name for s in self.sellers]
        if len(set(names)) != len(names):
            raise ValueError(f"seller names must be unique, got {names}")
        for i, s in enumerate(self.sellers):
            self._check_marketplaces(i, s)
        return self

    def _check_marketplaces(self, index: int, seller: SellerSettings) -> None:
        region = self.region_of(seller)
        for key, values in (
            ("marketplace_id", [seller.marketplace_id]),
            ("marketplace_ids", seller.marketplace_ids),
        ):
            for value in values:
                why = marketplace_problem(value, region)
                if why is not None:
                    raise ValueError(f"sellers[{index}].{key}: {why}")

    def region_of(self, seller: SellerSettings) -> str:
        """The seller's SP-API region: its own; else [spapi] region when the settings set
        it; else the region of its main marketplace (amazon.de: EU), so a settings file
        from before regions per seller keeps its meaning and a German seller needs no
        region line."""
        if seller.region is not None:
            return seller.region
        if "region" in self.spapi.model_fields_set:
            return self.spapi.region
        known = MARKETPLACES.get(seller.marketplace_id)
        return known[0] if known is not None else self.spapi.region

    def endpoint_for(self, region: str) -> str | None:
        """The endpoint the settings set for ``region``; None: Amazon's own."""
        own = {str(k): v for k, v in self.spapi.endpoints.items()}
        return own.get(region) or self.spapi.endpoint

    @property
    def resolved_ledger_url(self) -> str:
        return self.ledger_url or f"sqlite:///{(self.data_dir / 'ledger.sqlite3').resolve()}"

    def validation_for(self, seller: SellerSettings | None) -> ValidationSettings:
        """The validation values in effect for ``seller``: its own where set, else global."""
        if seller is None:
            return self.validation
        own = {
            key: value
            for key in ("timezone", "date_order", "max_age_days", "strict_tracking")
            if (value := getattr(seller, key)) is not None
        }
        return self.validation.model_copy(update=own) if own else self.validation

    def settle_seconds_for(self, seller: SellerSettings | None) -> float:
        """How long ``seller``'s inbox files must be unchanged: its own value, else global."""
        if seller is None or seller.settle_seconds is None:
            return self.service.settle_seconds
        return seller.settle_seconds

    def seller(self, name: str) -> SellerSettings:
        for s in self.sellers:
            if s.name == name:
                return s
        raise KeyError(name)


_SECRET_KEYS = ("lwa_client_id", "lwa_client_secret", "lwa_refresh_token")


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """The one way settings are read: the file (or the built-in defaults), then the
    environment, with ``overrides`` (the command line's --data-dir) on top.

    Every problem is a SettingsError naming the file and the full key path, so an operator
    can find the line to fix; the command line turns it into exit code 78.
    """
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(path)
        for key in (*_SECRET_KEYS, "secrets", "password"):
            if key in data or key in data.get("spapi", {}):
                raise SettingsError(
                    f"{path}: '{key}' must not be in the settings file; put secrets in the "
                    "environment or the file named by SHIPFEED_SECRETS_FILE"
                )
    data.update(overrides)
    data = _deep_update(data, environment_overrides(os.environ))
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise SettingsError(f"settings{f' {path}' if path else ''}: {problems(exc)}") from exc


_ENV_PREFIX = "shipfeed_"
_ENV_NESTED = "__"


def environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment sets, as pydantic-settings read them before (without
    loading it: `validate` and `convert` start faster): SHIPFEED_<FIELD> for a top-level
    field, SHIPFEED_<SECTION>__<KEY> for a key of a section, names in any case, a value
    for a section or list as JSON. Variables naming no field (SHIPFEED_SECRETS_FILE) are
    not settings; unknown keys inside a section are kept, so validation refuses them."""
    out: dict[str, Any] = {}
    for name, value in environ.items():
        key = name.lower()
        if not key.startswith(_ENV_PREFIX):
            continue
        path = key[len(_ENV_PREFIX) :].split(_ENV_NESTED)
        field = Settings.model_fields.get(path[0])
        if field is None:
            continue
        complex_field = _is_complex(field.annotation)
        if len(path) == 1:
            out[path[0]] = _json_or_text(value) if complex_field else value
            continue
        if not complex_field:
            continue
        target = out.setdefault(path[0], {})
        if not isinstance(target, dict):
            continue
        for part in path[1:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                break
        else:
            target[path[-1]] = value
    return out


def _is_complex(annotation: Any) -> bool:
    return (isinstance(annotation, type) and issubclass(annotation, BaseModel)) or (
        getattr(annotation, "__origin__", None) in (list, dict)
    )


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _deep_update(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` on top, sections merged key by key."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_update(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def problems(exc: ValidationError) -> str:
    """Each problem as ``full.key.path: why``, without echoing the value (it may be secret)."""
    out = []
    for e in exc.errors():
        where = ""
        for part in e["loc"]:
            where += f"[{part}]" if isinstance(part, int) else f"{'.' if where else ''}{part}"
        why = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        why = why.removeprefix("Value error, ")
        if not where and why.startswith("sellers["):  # a check across keys names its key
            out.append(why)
            continue
        out.append(f"{where or '(top level)'}: {why}")
    return "; ".join(out)


def _read_toml(path: Path | str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:  # its message names the line and column
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def load_secrets(environ: dict[str, str] | None = None) -> Secrets:
    """Secrets from SHIPFEED_SECRETS_FILE (TOML) and then SHIPFEED_LWA_* variables.

    Kept apart from Settings so that settings can be shown and logged freely.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    secrets_file = env.get("SHIPFEED_SECRETS_FILE")
    if secrets_file:
        data = _read_toml(secrets_file)
    for key in _SECRET_KEYS:
        value = env.get(f"SHIPFEED_{key.upper()}")
        if value:
            data[key] = value
    try:
        return Secrets(**data)
    except ValidationError as exc:
        where = secrets_file or "secrets"
        raise SettingsError(f"{where}: {problems(exc)}") from None  # the cause quotes values


def secrets_file_warning(environ: dict[str, str] | None = None) -> str | None:
    """A warning when the secrets file can be read by its group or by others.

    Not refused: the operator may share it with a service group on purpose; but it holds
    the Amazon login, so every start says so until the mode is fixed.
    """
    env = os.environ if environ is None else environ
    secrets_file = env.get("SHIPFEED_SECRETS_FILE")
    if not secrets_file:
        return None
    try:
        mode = os.stat(secrets_file).st_mode
    except OSError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"the secrets file {secrets_file} is readable by others (mode "
            f"{stat.S_IMODE(mode):o}); run chmod 600 {secrets_file}"
        )
    return None
