"""Settings: one validated model, read from a TOML file and the environment.

Secrets (LWA client id/secret/refresh token, SFTP passwords and keys) are never read from
the settings file: they come from the environment or a separate secrets file, and are kept
as ``SecretStr`` so that printing settings or logging them never shows them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")


class ValidationSettings(BaseModel):
    timezone: str = "UTC"  # the seller's zone, for ship dates written without one
    future_tolerance_minutes: int = Field(60, ge=0)  # clocks differ; beyond this is an error
    max_age_days: int = Field(60, ge=1)  # older ship dates are almost surely typos
    strict_tracking: bool = False  # tracking format mismatch: warning (False) or error (True)
    date_order: Literal["US", "EU"] = "US"  # how to read 03/04/2026


class FeedSettings(BaseModel):
    document_version: str = "1.01"
    # Amazon's feed guidance: keep XML feeds well under 10 MB and, for order feeds,
    # batch rather than send tiny feeds; createFeed is throttled to one call per two minutes.
    max_messages: int = Field(30_000, ge=1)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)


class SpApiSettings(BaseModel):
    region: Literal["NA", "EU", "FE"] = "NA"
    endpoint: str | None = None  # any URL overrides the region's endpoint (the simulator)
    token_url: str = "https://api.amazon.com/auth/o2/token"
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=0)
    use_orders_api: bool = True  # look orders up before sending (cancelled, shipped, ship level)
    # getOrder is rate limited (0.5/s, burst 30): at most this many orders are looked up
    # per batch; queued lines of further orders are sent without a lookup.
    order_lookups_per_batch: int = Field(100, ge=0)


class SimulatorSettings(BaseModel):
    """The built-in SP-API simulator used when no SP-API credentials are set."""

    enabled: Literal["auto", "always", "never"] = "auto"
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    processing_delay_seconds: float = 1.0
    auto_create_orders: bool = True


class ServiceSettings(BaseModel):
    batch_interval_seconds: float = Field(300.0, gt=0)  # "batches sent every few minutes"
    poll_interval_seconds: float = Field(60.0, gt=0)
    inbox_scan_seconds: float = Field(30.0, gt=0)  # rescan for what events missed
    settle_seconds: float = Field(5.0, ge=0)  # a file must be unchanged this long
    stuck_after_seconds: float = Field(3600.0, gt=0)  # "over an hour in one status"
    max_resends: int = Field(3, ge=0)  # then needs_attention
    direct_threshold: int = Field(0, ge=0)  # <= this many orders waiting: confirmShipment
    archive_retention_days: int = Field(90, ge=1)


class EmailSettings(BaseModel):
    enabled: bool = False  # Amazon emails buyers itself; this is an opt-in extra
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    sender: str = "shipping@example.com"


class SellerSettings(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    merchant_id: str
    marketplace_id: str = "ATVPDKIKX0DER"  # amazon.com
    inbox: str  # a path, or sftp://user@host:port/path
    outbox: str
    credentials: str = "default"  # a key into the secrets, never the secret itself
    column_map: dict[str, str] = Field(default_factory=dict)  # seller header -> field
    known_hosts: str | None = None  # for sftp:// inboxes
    trust_on_first_use: bool = False
    sheet: str | None = None  # XLSX sheet name; first sheet when None
    # Each seller's own values where its files differ from the rest; None: the global one
    # ([validation] / [service]). Resolved by Settings.validation_for / settle_seconds_for.
    timezone: str | None = None
    date_order: Literal["US", "EU"] | None = None
    max_age_days: int | None = Field(None, ge=1)
    strict_tracking: bool | None = None
    settle_seconds: float | None = Field(None, ge=0)


class SftpSecret(BaseModel):
    password: SecretStr | None = None
    private_key_path: str | None = None
    private_key_passphrase: SecretStr | None = None


class Secrets(BaseModel):
    lwa_client_id: SecretStr | None = None
    lwa_client_secret: SecretStr | None = None
    lwa_refresh_token: SecretStr | None = None
    sftp: dict[str, SftpSecret] = Field(default_factory=dict)

    @property
    def has_spapi(self) -> bool:
        return bool(self.lwa_client_id and self.lwa_client_secret and self.lwa_refresh_token)


class Settings(BaseSettings):
    """Everything shipfeed is told. Environment: SHIPFEED_<SECTION>__<KEY>."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPFEED_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("var")
    ledger_url: str | None = None  # None: SQLite file in data_dir
    log_level: str = "INFO"
    validation: ValidationSettings = ValidationSettings()
    feed: FeedSettings = FeedSettings()
    spapi: SpApiSettings = SpApiSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    service: ServiceSettings = ServiceSettings()
    email: EmailSettings = EmailSettings()
    sellers: list[SellerSettings] = Field(default_factory=list)

    @field_validator("ledger_url")
    @classmethod
    def _no_password_in_file(cls, v: str | None) -> str | None:
        return v or None

    @model_validator(mode="after")
    def _default_seller(self) -> Settings:
        if not self.sellers:
            self.sellers = [
                SellerSettings(
                    name="default",
                    merchant_id="SIMULATED",
                    inbox=str(self.data_dir / "inbox"),
                    outbox=str(self.data_dir / "outbox"),
                )
            ]
        names = [s.name for s in self.sellers]
        if len(set(names)) != len(names):
            raise ValueError(f"seller names must be unique, got {names}")
        return self

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments (the loaded TOML) first, then the environment overrides.
        return (env_settings, init_settings)


_SECRET_KEYS = ("lwa_client_id", "lwa_client_secret", "lwa_refresh_token")


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings file (or the built-in defaults) and the environment.

    Raises pydantic's ValidationError, or ValueError naming a secret put in the settings
    file; the command line turns both into a ConfigError.
    """
    data: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        for key in (*_SECRET_KEYS, "secrets", "password"):
            if key in data or key in data.get("spapi", {}):
                raise ValueError(
                    f"{path}: '{key}' must not be in the settings file; put secrets in the "
                    "environment or the file named by SHIPFEED_SECRETS_FILE"
                )
    data.update(overrides)
    return Settings(**data)


def load_secrets(environ: dict[str, str] | None = None) -> Secrets:
    """Secrets from SHIPFEED_SECRETS_FILE (TOML) and then SHIPFEED_LWA_* variables.

    Kept apart from Settings so that settings can be shown and logged freely.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    secrets_file = env.get("SHIPFEED_SECRETS_FILE")
    if secrets_file:
        with open(secrets_file, "rb") as fh:
            data = tomllib.load(fh)
    for key in _SECRET_KEYS:
        value = env.get(f"SHIPFEED_{key.upper()}")
        if value:
            data[key] = value
    return Secrets(**data)
