"""Shared fixtures. Each area's fixtures sit under its own heading."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEV_CORPUS = ROOT.parent / "shared" / "corpus" / "dev"


@pytest.fixture
def dev_corpus() -> Path:
    """The labelled development corpus (../shared/corpus/dev), when present."""
    if not (DEV_CORPUS / "labels.csv").is_file():
        pytest.skip("development corpus not found at ../shared/corpus/dev")
    return DEV_CORPUS


# --- identity / tenants ---
OWNER = "owner@contoso.example"  # signs in for Contoso Dental
FRONTDESK = "frontdesk@contoso.example"  # shared with OWNER
PRIVATE = "ceo@contoso.example"  # not shared with anyone
OUTSIDER = "admin@fabrikam.example"  # another Microsoft tenant


@pytest.fixture
def directory():  # type: ignore[no-untyped-def]
    """Sandbox world: Contoso (owner, frontdesk shared with owner, ceo) and Fabrikam (admin)."""
    from monitor.sandbox.directory import Directory

    world = Directory()
    contoso = world.add_tenant("Contoso Dental", "contoso.example")
    world.add_user(contoso, OWNER, "Olivia Owner")
    world.add_user(contoso, FRONTDESK, "Front Desk")
    world.add_user(contoso, PRIVATE, "Carl Executive")
    world.share(FRONTDESK, OWNER)
    fabrikam = world.add_tenant("Fabrikam", "fabrikam.example")
    world.add_user(fabrikam, OUTSIDER, "Fabrikam Admin")
    return world


@pytest.fixture
def identity_sandbox(directory):  # type: ignore[no-untyped-def]
    """The sandbox identity provider over TLS; device codes are approved for OWNER after one poll,
    polled without waiting (interval 0). A test that turns auto_approve off sets interval = 1."""
    from monitor.sandbox.identity import IdentitySandbox

    with IdentitySandbox(directory, auto_approve=OWNER, interval=0) as idp:
        yield idp


@pytest.fixture
def encryption_key(monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh token-cache key in OUTREACH_MONITOR_KEY."""
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("OUTREACH_MONITOR_KEY", key)
    monkeypatch.delenv("OUTREACH_MONITOR_CLIENT_SECRET", raising=False)
    return key


@pytest.fixture
def make_settings(tmp_path, identity_sandbox, encryption_key):  # type: ignore[no-untyped-def]
    """make_settings(graph_endpoint=..., **identity_overrides) -> path of a settings file whose
    data directory and SQLite database are in tmp_path and whose authority is the sandbox."""
    from monitor.sandbox.identity import SANDBOX_CLIENT_ID

    def make(graph_endpoint: str = "https://graph.microsoft.com/v1.0", **identity: str) -> Path:
        values = {
            "client_id": SANDBOX_CLIENT_ID,
            "authority_host": identity_sandbox.authority_host,
            "ca_bundle": identity_sandbox.ca_file,
            **identity,
        }
        lines = ["[database]", f'data_dir = "{tmp_path / "data"}"', "[identity]"]
        lines += [f'{key} = "{value}"' for key, value in values.items()]
        lines += ["[graph]", f'endpoint = "{graph_endpoint}"']
        path = tmp_path / "settings.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return make


# --- graph / scanner ---
@pytest.fixture
def graph_sandbox(directory):  # type: ignore[no-untyped-def]
    """The Graph sandbox on loopback over the shared directory (OWNER reads FRONTDESK, not PRIVATE)."""
    from monitor.sandbox.graph import GraphSandbox

    with GraphSandbox(directory) as graph:
        yield graph


# --- alerts / slack ---


class FakeClock:
    """A monotonic clock whose sleep() only moves it on: rate limits and retry waits without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_slack():
    """The fake Slack Web API (tests/fake_slack.py) on a free loopback port."""
    from fake_slack import FakeSlack

    with FakeSlack() as slack:
        yield slack


@pytest.fixture
def alerts_settings(tmp_path, fake_slack):
    """Settings pointing Slack at the fake and the database at a file in tmp_path."""
    from monitor.config import Settings

    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'alerts.db'}", "data_dir": str(tmp_path)},
            "slack": {"api_url": fake_slack.url, "default_channel": "#alerts", "group_window_seconds": 120},
            "web": {"base_url": "https://review.msp.example"},
        }
    )


@pytest.fixture
def alerts_engine(alerts_settings):
    from monitor.db import make_engine

    return make_engine(alerts_settings.database_url)


# --- web review log ---


@pytest.fixture
def web_settings(tmp_path, monkeypatch):
    """Settings with the database and the web secret file in tmp_path; ten detections a page."""
    from monitor.config import Settings

    monkeypatch.delenv("OUTREACH_MONITOR_WEB_SECRET", raising=False)
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'web.db'}", "data_dir": str(tmp_path)},
            "web": {"page_size": 10, "slack_workspace_url": "https://msp.slack.com"},
        }
    )


@pytest.fixture
def web_engine(web_settings):
    from monitor.db import make_engine

    return make_engine(web_settings.database_url)


@pytest.fixture
def fast_hashing(monkeypatch):
    """argon2's own cheapest parameters (argon2.profiles.CHEAPEST, meant for tests): a sign-in
    costs microseconds instead of ~0.2 s; hashing and checking work exactly as in production."""
    from argon2 import PasswordHasher, profiles

    from monitor.web import users

    monkeypatch.setattr(users, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def web_app(web_settings, web_engine, fast_hashing):
    from monitor.web import create_app

    return create_app(web_settings, web_engine)


# --- worker / demo ---
MSP_DOMAIN = "northwind-demo-it.com"  # the demo mail's MSP (11-msp-renewal.json is its own mail)
WORKER_SECTIONS = """
[msp]
name = "Northwind IT"
domains = ["{msp}"]

[worker]
poll_interval_seconds = 1
poll_jitter_seconds = 0.2
dispatch_interval_seconds = 0.25
flush_interval_seconds = 0.5
lease_seconds = 5
stop_grace_seconds = 2
token_check_minutes = 60

[slack]
api_url = "{slack}"
default_channel = "#alerts"
security_channel = "#security"
health_channel = "#tenant-health"
"""


@pytest.fixture
def worker_config(make_settings, graph_sandbox, fake_slack, monkeypatch):  # type: ignore[no-untyped-def]
    """A settings file for the worker: the sandboxes, the fake Slack (its token in the
    environment), one-second polls; the database in tmp_path."""
    path = make_settings(graph_endpoint=graph_sandbox.base_url)
    path.write_text(
        path.read_text(encoding="utf-8") + WORKER_SECTIONS.format(msp=MSP_DOMAIN, slack=fake_slack.url),
        encoding="utf-8",
    )
    monkeypatch.setenv("OUTREACH_MONITOR_SLACK_TOKEN", fake_slack.token)
    return path


def connect_tenant(config: Path, identity_sandbox, name: str, upn: str, *shared: str) -> None:  # type: ignore[no-untyped-def]
    """`outreach-monitor connect` for real: device code approved for ``upn`` by the sandbox."""
    from click.testing import CliRunner

    from monitor.cli import cli

    identity_sandbox.auto_approve = upn.lower()
    args = ["--config", str(config), "connect", "--name", name]
    for address in shared:
        args += ["--mailbox", address]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output


def demo_mail(domain: str, tag: str) -> list[tuple[str, dict, bool]]:
    """The bundled demo mail addressed to ``domain``: (file, message, should alert). Each gets a
    unique internetMessageId, so the same mail in several mailboxes or tests is told apart."""
    import json

    from monitor.commands.sandbox import demo_messages

    alerting = {"01", "02", "03", "04", "05", "08", "12"}  # vendor outreach, and 08 impersonation
    folder = ROOT / "monitor" / "demo"
    names = sorted(p.name for p in folder.glob("*.json"))
    out = []
    for name, message in zip(names, demo_messages(), strict=True):
        data = json.loads(json.dumps(message).replace("contoso-demo.com", domain))
        data["internetMessageId"] = f"<{tag}-{name.removesuffix('.json')}@{domain}>"
        out.append((name, data, name[:2] in alerting))
    return out


@pytest.fixture
def worker_db(tmp_path):  # type: ignore[no-untyped-def]
    """(settings, engine): tenants Active (20 mailboxes and a disabled one) and Paused (one)."""
    from monitor.config import Settings
    from monitor.db import make_engine, session_scope
    from monitor.models import Mailbox, Tenant

    settings = Settings.model_validate(
        {
            "database": {"data_dir": str(tmp_path)},
            "worker": {"poll_interval_seconds": 60, "poll_jitter_seconds": 10},
        }
    )
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        active = Tenant(name="Active", status="active")
        paused = Tenant(name="Paused", status="paused")
        session.add_all([active, paused])
        session.flush()
        for n in range(20):
            session.add(Mailbox(tenant_id=active.id or 0, address=f"m{n}@active.example"))
        session.add(Mailbox(tenant_id=active.id or 0, address="off@active.example", enabled=False))
        session.add(Mailbox(tenant_id=paused.id or 0, address="p@paused.example"))
    return settings, engine
