"""Settings mean what they say: every problem is refused at start, naming where it is."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings, secrets_file_warning
from processors.service import Service


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    return str(caught.value)


def test_misspelled_key_in_a_known_section_is_named_with_its_full_path(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "[service]\nbatch_interval = 10\n")
    assert "service.batch_interval: unknown key" in refusal(path)


def test_unknown_key_in_a_seller_is_named_with_the_sellers_position(tmp_path: Path) -> None:
    seller = '[[sellers]]\nname = "a"\nmerchant_id = "M"\ninbox = "i"\noutbox = "o"\n'
    path = settings_file(tmp_path, seller + 'colum_map = {"x" = "order_id"}\n')
    assert "sellers[0].colum_map: unknown key" in refusal(path)


def test_unknown_key_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPFEED_SERVICE__BATCH_INTERVAL", "10")
    with pytest.raises(SettingsError, match=r"service\.batch_interval: unknown key"):
        load_settings(None)


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "[service]\n\nbatch_interval_seconds = \n")
    message = refusal(path)
    assert str(path) in message and "line 3" in message


def test_unknown_timezone_is_refused_at_start(tmp_path: Path) -> None:
    path = settings_file(tmp_path, '[validation]\ntimezone = "Europe/Berlim"\n')
    assert "validation.timezone: unknown time zone 'Europe/Berlim'" in refusal(path)


@pytest.mark.parametrize("value", ["inf", "nan", "0"])
def test_an_interval_that_never_runs_is_refused(tmp_path: Path, value: str) -> None:
    path = settings_file(tmp_path, f"[service]\npoll_interval_seconds = {value}\n")
    assert "service.poll_interval_seconds" in refusal(path)


@pytest.mark.parametrize("url", ["mysql://u@localhost/db", "not a url"])
def test_ledger_url_must_be_sqlite_or_postgresql(tmp_path: Path, url: str) -> None:
    path = settings_file(tmp_path, f'ledger_url = "{url}"\n')
    assert "ledger_url:" in refusal(path)


def test_sqlite_and_postgresql_ledger_urls_are_taken(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path}/l.db", "postgresql://u@127.0.0.1:5432/test"):
        assert load_settings(None, ledger_url=url).ledger_url == url


def test_secrets_file_readable_by_others_gets_a_warning(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[sftp.default]\npassword = 'pw-never-shown'\n")
    os.chmod(secrets, 0o644)
    warning = secrets_file_warning({"SHIPFEED_SECRETS_FILE": str(secrets)})
    assert warning is not None and "chmod 600" in warning and "pw-never-shown" not in warning
    os.chmod(secrets, 0o600)
    assert secrets_file_warning({"SHIPFEED_SECRETS_FILE": str(secrets)}) is None


def test_service_start_logs_the_secrets_file_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[sftp.default]\npassword = 'pw'\n")
    os.chmod(secrets, 0o640)
    monkeypatch.setenv("SHIPFEED_SECRETS_FILE", str(secrets))
    settings = load_settings(None, data_dir=tmp_path / "var", simulator={"enabled": "always"})
    with caplog.at_level(logging.WARNING, logger="shipfeed"):
        Service.start(settings, watch=False, once=True).close()
    assert any(r.getMessage() == "secrets_file_readable" for r in caplog.records)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('log_level = "verbose"\n', "log_level"),
        ('[spapi]\nendpoint = "sellingpartnerapi-na.amazon.com"\n', "spapi.endpoint"),
        ('[spapi]\ntoken_url = "ftp://api.amazon.com/auth"\n', "spapi.token_url"),
        ("[email]\nsmtp_port = 70000\n", "email.smtp_port"),
        (
            '[[sellers]]\nname = "a"\nmerchant_id = "M"\ninbox = "sftp://host:port/in"\n'
            'outbox = "o"\n',
            "sellers[0].inbox",
        ),
    ],
    ids=["log level", "endpoint", "token url", "smtp port", "sftp url"],
)
def test_values_that_would_only_fail_later_are_refused_at_start(
    tmp_path: Path, text: str, where: str
) -> None:
    assert f"{where}:" in refusal(settings_file(tmp_path, text))


def test_log_level_is_taken_in_any_case() -> None:
    assert load_settings(None, log_level="debug").log_level == "DEBUG"


def test_settings_are_read_in_one_place() -> None:
    """Two loaders drift apart (one misses a check, the CLI and the service read other
    files): only config/settings.py reads TOML and only run.py's loader calls it."""
    root = Path(__file__).resolve().parents[1]
    sources = [root / "run.py"] + [
        path
        for package in ("config", "console", "feeds", "ingest", "processors")
        for path in (root / package).rglob("*.py")
    ]
    readers = {
        str(path.relative_to(root))
        for path in sources
        if "tomllib" in path.read_text(encoding="utf-8")
    }
    callers = {
        str(path.relative_to(root))
        for path in sources
        if "load_settings(" in path.read_text(encoding="utf-8")
    }
    assert readers == {"config/settings.py"}
    assert callers == {"config/settings.py", "run.py"}
