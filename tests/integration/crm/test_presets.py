"""The shipped presets: ``mapping: preset:NAME`` in the config, ``mapping check preset:NAME``
on the command line; every preset loads with what its docs page says to set."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctibridge.api.app import build_crm
from ctibridge.cli import app
from ctibridge.config import Settings
from ctibridge.crm import presets

from .vendors.salesforce import key_pair

runner = CliRunner()
PRIVATE_KEY, _ = key_pair()
# What docs/crm/<name>.md tells the user to set, per preset.
SETUP: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "salesforce": ({"instance_url": "https://acme.my.salesforce.com"},
                   {"SF_CLIENT_ID": "3MVG9", "SF_USERNAME": "cti@acme.example",
                    "SF_PRIVATE_KEY": PRIVATE_KEY}),
    "dynamics365": ({"org_url": "https://acme.crm4.dynamics.com", "tenant_id": "t-1"},
                    {"D365_CLIENT_ID": "c", "D365_CLIENT_SECRET": "s"}),
    "zendesk": ({"zendesk_url": "https://acme.zendesk.com"},
                {"ZENDESK_EMAIL": "cti@acme.example", "ZENDESK_API_TOKEN": "t"}),
    "hubspot": ({"portal_id": "139876543"}, {"HUBSPOT_TOKEN": "pat-eu1-x"}),
    "democrm": ({"hub_url": "http://127.0.0.1:8080"}, {}),
}


def test_every_shipped_preset_is_documented_here() -> None:
    assert sorted(SETUP) == presets.names()


@pytest.mark.parametrize("name", sorted(SETUP))
def test_mapping_check_accepts_each_preset_with_its_documented_settings(name: str) -> None:
    variables, env = SETUP[name]
    args = ["mapping", "check", f"preset:{name}"]
    for k, v in variables.items():
        args += ["--var", f"{k}={v}"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert f"CRM {name!r}" in result.output
    assert "repeated log: none" not in result.output  # each says how a re-send is safe


def test_a_preset_missing_its_settings_names_them() -> None:
    result = runner.invoke(app, ["mapping", "check", "preset:salesforce"], env={})
    assert result.exit_code == 2
    assert "'instance_url' is not set" in result.output or "instance_url" in result.output


def test_an_unknown_preset_lists_the_real_ones() -> None:
    result = runner.invoke(app, ["mapping", "check", "preset:siebel"])
    assert result.exit_code == 2 and "hubspot" in result.output and "salesforce" in \
        result.output


def test_the_hub_config_reads_preset_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    variables, env = SETUP["zendesk"]
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings = Settings.load(None, crm={"mapping": "preset:zendesk", "variables": variables})
    connector = build_crm(settings, tmp_path)
    assert connector.mapping.name == "zendesk"


async def test_a_private_key_that_is_not_one_is_refused_at_start_with_the_reason() -> None:
    from ctibridge.crm.mapping import load_mapping
    from ctibridge.crm.mapping.auth import TokenError

    variables, env = SETUP["salesforce"]
    crm = load_mapping(presets.resolve("preset:salesforce"), variables,
                       environ={**env, "SF_PRIVATE_KEY": "-----BEGIN nonsense"})
    with pytest.raises(TokenError, match="private_key is not a usable RS256 private key"):
        await crm.start()
