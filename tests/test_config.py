from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import DEFAULT_PATH, load_settings
from monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_documented_defaults_load_and_match_the_code_defaults() -> None:
    settings = load_settings(DEFAULT_PATH, environ={})
    assert settings.graph.endpoint == "https://graph.microsoft.com/v1.0"
    assert settings.identity.authority_host == "https://login.microsoftonline.com"
    assert settings.slack.api_url == "https://slack.com/api/"
    assert settings.worker.poll_interval_seconds == 60
    assert settings.detection.alert_labels == ["vendor_outreach", "impersonation"]


def test_environment_overrides_one_key_and_parses_toml_values(tmp_path: Path) -> None:
    path = write(tmp_path, "[graph]\npage_size = 10\n")
    settings = load_settings(
        path,
        environ={
            "OUTREACH_MONITOR__GRAPH__ENDPOINT": "https://graph.microsoft.us/v1.0",
            "OUTREACH_MONITOR__WORKER__POLL_INTERVAL_SECONDS": "120",
            "OUTREACH_MONITOR__MSP__DOMAINS": '["Northwind-IT.com"]',
        },
    )
    assert settings.graph.endpoint == "https://graph.microsoft.us/v1.0"
    assert settings.graph.page_size == 10  # the file's value survives
    assert settings.worker.poll_interval_seconds == 120
    assert settings.msp.domains == ["northwind-it.com"]


def test_config_env_var_selects_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[msp]\nname = "Northwind IT"\n')
    assert load_settings(None, environ={"OUTREACH_MONITOR_CONFIG": str(path)}).msp.name == "Northwind IT"


@pytest.mark.parametrize(
    ("text", "environ", "named"),
    [
        ("[graph]\nendpiont = 'https://x'\n", {}, "[graph] endpiont: unknown key"),
        ("[grpah]\n", {}, "grpah: unknown key"),
        ("[graph]\npage_size = 0\n", {}, "[graph] page_size"),
        (
            "[identity]\nauthority_host = 'http://127.0.0.1:9'\n",
            {},
            "[identity] authority_host: must be an https",
        ),
        ("[detection]\nalert_labels = ['spam']\n", {}, "[detection] alert_labels"),
        ("", {"OUTREACH_MONITOR__GRAPH__NOPE": "1"}, "unknown key 'nope' in [graph]"),
        ("", {"OUTREACH_MONITOR__NOPE__X": "1"}, "unknown settings section [nope]"),
        ("[[vendors]]\nname = 'Acme'\n", {}, "[[vendors]] #1 domains"),
        ("not toml at all [", {}, "not valid TOML"),
    ],
)
def test_bad_settings_are_refused_with_the_key_named(
    tmp_path: Path, text: str, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text), environ=environ)
    assert named in str(err.value)


def test_relative_sqlite_path_lives_in_the_data_dir(tmp_path: Path) -> None:
    path = write(tmp_path, f"[database]\ndata_dir = '{tmp_path / 'state'}'\n")
    assert (
        load_settings(path, environ={}).database_url
        == f"sqlite:///{tmp_path / 'state' / 'outreach-monitor.db'}"
    )


def test_cli_reports_a_bad_setting_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "[graph]\nendpiont = 'https://x'\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "classify", str(path)])
    assert result.exit_code == 2
    assert "[graph] endpiont: unknown key" in result.output
    assert "Traceback" not in result.output
