"""`alerts`, `silences` and `slack check` from the command line, against the fake Slack."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_slack import TOKEN
from sqlmodel import select

from alerts.outbox import enqueue
from monitor.cli import cli
from monitor.config import SLACK_TOKEN_ENV
from monitor.db import make_engine, session_scope
from monitor.models import Tenant


@pytest.fixture
def config(tmp_path: Path, fake_slack, monkeypatch) -> Path:
    monkeypatch.setenv(SLACK_TOKEN_ENV, TOKEN)
    path = tmp_path / "settings.toml"
    path.write_text(f"""
[database]
url = "sqlite:///cli.db"
data_dir = "{tmp_path}"

[slack]
api_url = "{fake_slack.url}"
default_channel = "#alerts"

[web]
base_url = "https://review.msp.example"
""")
    return path


def run(config: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == code, result.output
    return result.output


def add_alert(
    config: Path,
    *,
    tenant: str = "Contoso",
    channel: str = "",
    sender: str = "rep@microsoft.com",
    subject: str = "Free Azure audit",
) -> None:
    engine = make_engine(f"sqlite:///{config.parent / 'cli.db'}")
    with session_scope(engine) as s:
        row = s.exec(select(Tenant).where(Tenant.name == tenant)).first()
        if row is None:
            row = Tenant(name=tenant, slack_channel=channel)
            s.add(row)
            s.flush()
        enqueue(
            s,
            kind="detection",
            tenant_id=row.id,
            payload={
                "tenant": tenant,
                "mailbox": "anna@contoso.com",
                "sender_address": sender,
                "sender_name": "Jane",
                "vendor": "Microsoft",
                "label": "vendor_outreach",
                "subject": subject,
            },
        )
    engine.dispose()


def test_dead_letter_is_listed_retried_and_delivered(config: Path, fake_slack) -> None:
    add_alert(config, tenant="Fabrikam", channel="C0GONE00", subject="\x1b[2J<!channel> Free audit")
    out = run(config, "alerts", "flush")
    assert "sent 0" in out and "dead 1" in out and "dead letter: channel_not_found" in out

    out = run(config, "alerts", "list", "--state", "dead")
    assert "1  dead" in out and "Fabrikam" in out and "<!channel> Free audit" in out
    assert "channel_not_found: Slack has no channel C0GONE00" in out and "\x1b" not in out
    assert run(config, "alerts", "list", "--state", "sent").strip() == "no sent alerts"

    fake_slack.add_channel("C0GONE00", "fabrikam")  # the admin fixes the channel
    assert "1 alert queued" in run(config, "alerts", "retry", "1")
    assert "sent 1" in run(config, "alerts", "flush")
    assert "sent to C0GONE00" in run(config, "alerts", "list", "--state", "sent")
    out = run(config, "alerts", "retry", "1", code=1)
    assert "already in Slack" in out and "not posting it again" in out
    assert len(fake_slack.posts()) == 1


def test_silences_from_the_command_line(config: Path, fake_slack) -> None:
    assert "at least one of --tenant, --sender or --vendor" in run(
        config, "silences", "add", "--reason", "x", code=1
    )
    assert "Missing option '--reason'" in run(config, "silences", "add", "--vendor", "Microsoft", code=2)
    assert "expected a number and a unit" in run(
        config, "silences", "add", "--vendor", "X", "--reason", "r", "--expires", "forever", code=1
    )
    out = run(
        config,
        "silences",
        "add",
        "--sender",
        "@Microsoft.com",
        "--reason",
        "Contoso asked for a quote",
        "--expires",
        "200d",
    )
    assert out.startswith("silence #1 added: sender=microsoft.com until") and "(capped at 90 days)" in out
    out = run(config, "silences", "list")
    assert (
        "#1" in out
        and "active" in out
        and "sender=microsoft.com" in out
        and "Contoso asked for a quote" in out
    )

    add_alert(config)
    assert "silenced 1" in run(config, "alerts", "flush")
    assert fake_slack.posts() == []
    assert "silenced by silence #1: Contoso asked for a quote" in run(
        config, "alerts", "list", "--state", "silenced"
    )
    assert "still muted by silence #1" in run(config, "alerts", "retry", "1", code=1)

    assert "silence #1 removed" in run(config, "silences", "remove", "1")
    assert run(config, "silences", "list").strip() == "no active silences"
    assert "removed" in run(config, "silences", "list", "--all")
    assert "no silence #1" in run(config, "silences", "remove", "1", code=1)
    assert "1 alert queued" in run(config, "alerts", "retry", "1")
    assert "sent 1" in run(config, "alerts", "flush")
    assert len(fake_slack.posts()) == 1


def test_slack_check_reports_bad_token_and_channels(config: Path, fake_slack, monkeypatch) -> None:
    assert "Slack OK: workspace MSP as outreach-bot; channels #alerts" in run(config, "slack", "check")

    add_alert(config, tenant="Fabrikam", channel="C0GONE00")
    out = run(config, "slack", "check", code=1)
    assert "error: Slack channel C0GONE00 (tenant Fabrikam) was not found" in out

    monkeypatch.setenv(SLACK_TOKEN_ENV, "xoxb-revoked-secret-1234")
    out = run(config, "slack", "check", code=1)
    assert f"Slack rejected the bot token in {SLACK_TOKEN_ENV} (invalid_auth)" in out
    assert "revoked-secret" not in out

    monkeypatch.delenv(SLACK_TOKEN_ENV)
    assert f"{SLACK_TOKEN_ENV} is not set" in run(config, "slack", "check", code=1)


def test_flush_without_token_prints_alerts_only_when_asked(config: Path, monkeypatch) -> None:
    monkeypatch.delenv(SLACK_TOKEN_ENV)
    add_alert(config)
    refused = run(config, "alerts", "flush", code=1)
    assert "--to-terminal" in refused
    assert "pending" in run(config, "alerts", "list")  # nothing was drained
    out = run(config, "alerts", "flush", "--to-terminal")
    assert "Vendor outreach · Contoso" in out and "Jane <rep@microsoft.com>" in out and "sent 1" in out


def test_slack_check_warns_when_lost_posts_cannot_be_looked_up(config: Path, fake_slack) -> None:
    fake_slack.scopes = "chat:write"
    result = CliRunner().invoke(cli, ["--config", str(config), "slack", "check"])
    assert result.exit_code == 0
    assert "may be posted twice" in result.stderr and "channels:history" in result.stderr
