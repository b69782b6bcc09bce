"""Accounts and regions per seller: each [[sellers]] names its refresh token (by its
credentials name in the secrets) and its region; marketplaces must be of that region.

Settings from before accounts (one refresh token, one [spapi] region) keep their meaning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from config.settings import Secrets, Settings, SettingsError, load_secrets, load_settings
from feeds.errors import CredentialsError
from feeds.spapi.accounts import AccountKey
from processors.accounts import plan_accounts

DE, FR, UK, US, JP = (
    "A1PA6795UKMFR9",
    "A13V1IB3VIYZZH",
    "A1F83G8C2ARO7P",
    "ATVPDKIKX0DER",
    ("A1VC38T7YXB528"),
)


def seller(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "merchant_id": f"M-{name}", "inbox": "in", "outbox": "out", **kw}


def settings(*sellers: dict[str, Any], **kw: Any) -> Settings:
    return load_settings(None, sellers=list(sellers), **kw)


def secrets(**tokens: str) -> Secrets:
    return Secrets(
        lwa_client_id="app",
        lwa_client_secret="app-secret",
        lwa_refresh_token=tokens.pop("default", None),
        lwa={name: {"refresh_token": t} for name, t in tokens.items()},
    )


def test_a_seller_names_its_region_and_its_marketplaces_of_that_region() -> None:
    s = settings(seller("acme-eu", region="EU", marketplace_id=DE, marketplace_ids=[FR, UK]))
    acme = s.sellers[0]
    assert s.region_of(acme) == "EU"
    assert acme.marketplaces == [DE, FR, UK]


def test_a_marketplace_of_another_region_is_refused_naming_its_key() -> None:
    with pytest.raises(SettingsError) as refused:
        settings(seller("a"), seller("b", region="EU", marketplace_id=DE, marketplace_ids=[US]))
    said = str(refused.value)
    assert "sellers[1].marketplace_ids: ATVPDKIKX0DER is amazon.com, a marketplace of" in said
    assert "a marketplace of region NA, not of the seller's region EU" in said


def test_a_main_marketplace_outside_the_sellers_region_is_refused() -> None:
    with pytest.raises(SettingsError) as refused:
        settings(seller("jp", region="FE", marketplace_id=DE))
    assert "sellers[0].marketplace_id: A1PA6795UKMFR9 is amazon.de" in str(refused.value)
    assert "not of the seller's region FE" in str(refused.value)


def test_an_unknown_region_is_refused_naming_its_key() -> None:
    with pytest.raises(SettingsError) as refused:
        settings(seller("a", region="SA"))
    assert "sellers[0].region:" in str(refused.value)


def test_an_unknown_marketplace_id_is_refused() -> None:
    with pytest.raises(SettingsError) as refused:
        settings(seller("a", marketplace_ids=["NOTAMARKET"]))
    assert "sellers[0].marketplace_ids: unknown marketplace id 'NOTAMARKET'" in str(refused.value)


def test_a_settings_file_with_a_bad_region_exits_78_naming_the_key(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import run

    path = tmp_path / "s.toml"
    path.write_text(
        '[[sellers]]\nname = "a"\nmerchant_id = "M"\ninbox = "in"\noutbox = "out"\n'
        'region = "EU"\nmarketplace_id = "ATVPDKIKX0DER"\n'
    )
    result = CliRunner().invoke(run.app, ["status", "--settings", str(path)])
    assert result.exit_code == 78
    assert "sellers[0].marketplace_id" in result.output


def test_a_seller_without_a_region_is_in_its_marketplaces_region() -> None:
    s = settings(seller("de", marketplace_id=DE), seller("us"))
    assert [s.region_of(x) for x in s.sellers] == ["EU", "NA"]


def test_the_spapi_region_still_decides_for_sellers_naming_none() -> None:
    """Settings from before regions per seller: [spapi] region is every seller's."""
    s = settings(seller("uk", marketplace_id=UK), spapi={"region": "EU"})
    assert s.region_of(s.sellers[0]) == "EU"
    with pytest.raises(SettingsError, match=r"sellers\[0\].marketplace_id"):
        settings(seller("us"), spapi={"region": "EU"})


def test_an_endpoint_override_per_region_wins_over_the_global_one() -> None:
    s = settings(
        seller("a"),
        spapi={"endpoint": "http://127.0.0.1:9/", "endpoints": {"EU": "http://127.0.0.1:9/eu"}},
    )
    assert s.endpoint_for("EU") == "http://127.0.0.1:9/eu"
    assert s.endpoint_for("NA") == "http://127.0.0.1:9/"


def test_a_per_region_endpoint_must_be_a_url() -> None:
    with pytest.raises(SettingsError, match=r"spapi.endpoints: EU: must be an http"):
        settings(seller("a"), spapi={"endpoints": {"EU": "ftp://x"}})


def test_refresh_tokens_per_credentials_name_come_from_the_secrets_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(
        'lwa_client_id = "app"\nlwa_client_secret = "s"\n'
        '[lwa.acme]\nrefresh_token = "Atzr|acme"\n[sftp.acme]\npassword = "pw"\n'
    )
    got = load_secrets({"SHIPFEED_SECRETS_FILE": str(path)})
    assert got.has_spapi
    assert got.refresh_token_for("acme") == SecretStr("Atzr|acme")
    assert got.refresh_token_for("bolt") is None
    assert "Atzr" not in repr(got)


def test_an_unknown_key_under_an_account_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text('[lwa.acme]\nrefresh_token = "x"\nregion = "EU"\n')
    with pytest.raises(SettingsError, match=r"lwa.acme.region: unknown key"):
        load_secrets({"SHIPFEED_SECRETS_FILE": str(path)})


# -- sellers to accounts ----------------------------------------------------------------


def test_each_seller_gets_the_account_of_its_credentials_and_region() -> None:
    s = settings(
        seller("us-shop", credentials="acme"),
        seller("de-shop", credentials="acme", region="EU", marketplace_id=DE),
        seller("bolt", credentials="bolt"),
    )
    plan = plan_accounts(s, secrets(acme="Atzr|acme", bolt="Atzr|bolt").refresh_token_for)
    assert plan["us-shop"].key == AccountKey("acme", "NA")
    assert plan["de-shop"].key == AccountKey("acme", "EU")
    assert plan["de-shop"].endpoint == "https://sellingpartnerapi-eu.amazon.com"
    assert plan["bolt"].key == AccountKey("bolt", "NA")


def test_sellers_on_one_refresh_token_share_one_account() -> None:
    s = settings(seller("a", credentials="x"), seller("b", credentials="y"), seller("c"))
    tokens = secrets(default="Atzr|one", x="Atzr|two", y="Atzr|two")
    plan = plan_accounts(s, tokens.refresh_token_for)
    assert plan["a"].key == plan["b"].key == AccountKey("x", "NA")
    assert plan["a"].sellers == ("a", "b")
    assert plan["c"].key == AccountKey("default", "NA")


def test_a_credentials_name_with_only_an_sftp_login_uses_the_default_account() -> None:
    """Settings from before accounts: credentials named the SFTP login only."""
    s = settings(seller("a", credentials="sftp-only"), seller("b"))
    plan = plan_accounts(s, secrets(default="Atzr|one").refresh_token_for)
    assert plan["a"].key == plan["b"].key == AccountKey("default", "NA")


def test_a_seller_with_no_refresh_token_at_all_is_refused_at_start() -> None:
    s = settings(seller("a", credentials="acme"))
    with pytest.raises(CredentialsError) as refused:
        plan_accounts(s, secrets(bolt="Atzr|bolt").refresh_token_for)
    assert "seller a: no Amazon refresh token for credentials 'acme'" in str(refused.value)
    assert "[lwa.acme]" in (refused.value.hint or "")


def test_account_keys_are_spelled_name_at_region_and_read_back() -> None:
    key = AccountKey("acme", "EU")
    assert str(key) == "acme@EU"
    assert AccountKey.parse("acme@EU") == key
    with pytest.raises(ValueError):
        AccountKey.parse("acme@XX")


def test_the_default_seller_follows_the_spapi_region() -> None:
    s = settings(spapi={"region": "FE"})
    assert s.sellers[0].marketplace_id == JP
