"""`connect`, `tenants` and `mailboxes` end to end: the real msal against the sandbox identity
provider over TLS, the Graph sandbox for the mailbox checks, a SQLite database in tmp_path."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FRONTDESK, OWNER, PRIVATE
from cryptography.fernet import Fernet
from sqlmodel import select

from monitor.auth import TokenProvider
from monitor.cli import cli
from monitor.config import load_settings
from monitor.crypto import TokenVault
from monitor.db import make_engine, session_scope
from monitor.models import Alert, FolderCursor, Mailbox, Tenant

graph_sandbox_module = pytest.importorskip("monitor.sandbox.graph")

NAME = "Contoso Dental"
RECONNECT = "outreach-monitor connect --tenant 'Contoso Dental'"


@pytest.fixture
def graph(directory):  # type: ignore[no-untyped-def]
    with graph_sandbox_module.GraphSandbox(directory) as sandbox:
        yield sandbox


@pytest.fixture
def config(make_settings, graph) -> Path:  # type: ignore[no-untyped-def]
    return make_settings(graph_endpoint=graph.base_url)


def run(config: Path, *args: str, input: str | None = None) -> Result:  # noqa: A002 (click's name)
    return CliRunner().invoke(cli, ["--config", str(config), *args], input=input)


def one_line_error(result: Result) -> str:
    """The command failed with exactly one line on stderr and no traceback."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def connected(config: Path, *mailboxes: str) -> Result:
    args = [a for m in mailboxes for a in ("--mailbox", m)]
    result = run(config, "connect", "--name", NAME, *args)
    assert result.exit_code == 0, result.output
    return result


def engine_for(config: Path):  # type: ignore[no-untyped-def]
    return make_engine(load_settings(config).database_url)


def tenant_of(config: Path) -> Tenant:
    with session_scope(engine_for(config)) as session:
        return session.exec(select(Tenant).where(Tenant.name == NAME)).one()


def mailboxes_of(config: Path) -> dict[str, Mailbox]:
    with session_scope(engine_for(config)) as session:
        return {m.address: m for m in session.exec(select(Mailbox)).all()}


def health_events(config: Path) -> list[str]:
    with session_scope(engine_for(config)) as session:
        rows = session.exec(select(Alert).where(Alert.kind == "tenant_health").order_by(Alert.id)).all()
        return [json.loads(a.payload)["event"] for a in rows]


# --- connecting ------------------------------------------------------------------------------
def test_connect_records_the_tenant_its_readable_mailboxes_and_encrypted_tokens(
    config, directory, encryption_key
) -> None:  # type: ignore[no-untyped-def]
    result = connected(config, FRONTDESK, PRIVATE)
    out = result.output
    assert "To sign in, use a web browser to open the page https://127.0.0.1:" in out
    assert "enter the code" in out and "Waiting for Contoso Dental to sign in (up to 15 min" in out
    guid = directory.user(OWNER).tenant_id
    assert f"Connected 'Contoso Dental': Microsoft tenant {guid}, domains contoso.example" in out
    assert "signed in as owner@contoso.example (Olivia Owner)" in out
    assert [line.split()[:3] for line in out.splitlines() if "readable" in line] == [
        ["owner@contoso.example", "own", "readable"],
        ["frontdesk@contoso.example", "shared", "readable"],
    ]
    [ceo] = [line.split(None, 2) for line in out.splitlines() if "NOT ADDED" in line]
    assert ceo[:2] == [PRIVATE, "shared"]
    assert ceo[2].startswith("NOT ADDED: ceo@contoso.example cannot be read (403 ErrorAccessDenied)")

    tenant = tenant_of(config)
    assert (tenant.status, tenant.tenant_guid, tenant.username) == ("active", guid, OWNER)
    assert json.loads(tenant.domains) == ["contoso.example"]
    boxes = mailboxes_of(config)
    assert sorted(boxes) == [FRONTDESK, OWNER]
    assert (boxes[OWNER].shared, boxes[OWNER].graph_user_id) == (False, "")
    assert (boxes[FRONTDESK].shared, boxes[FRONTDESK].graph_user_id) == (True, FRONTDESK)

    # Tokens: encrypted in the database; neither they nor the key are printed or stored in clear.
    cache = json.loads(
        TokenVault.from_settings(load_settings(config)).decrypt(tenant.token_cache, tenant=NAME)
    )
    secrets = [e["secret"] for kind in ("AccessToken", "RefreshToken") for e in cache[kind].values()]
    database = Path(load_settings(config).database_url.removeprefix("sqlite:///")).read_bytes()
    for secret in [*secrets, encryption_key]:
        assert secret not in out
        assert secret.encode() not in database
    assert encryption_key not in config.read_text()

    listing = run(config, "tenants")
    assert listing.exit_code == 0
    assert listing.output.splitlines()[1].split() == ["Contoso", "Dental", "active", "2", "-", "-"]
    boxes_out = run(config, "mailboxes", "list").output
    assert boxes_out.splitlines()[0].split() == [
        "TENANT",
        "ADDRESS",
        "KIND",
        "STATUS",
        "LAST",
        "SUCCESS",
        "LAST",
        "ERROR",
        "SEEN",
        "DETECTIONS",
    ]
    shown = run(config, "tenants", "show", NAME).output
    assert (
        "Token cache       encrypted; 1 refresh token(s); scopes Mail.Read Mail.Read.Shared User.Read"
        in shown
    )
    assert not any(secret in shown for secret in secrets)


def test_connect_refuses_names_in_use_and_unknown_tenants_before_anyone_signs_in(
    config, identity_sandbox
) -> None:  # type: ignore[no-untyped-def]
    connected(config)
    asked = identity_sandbox.requests["devicecode"]
    assert "already exists: to sign in again, use --tenant 'Contoso Dental'" in one_line_error(
        run(config, "connect", "--name", "contoso dental")
    )
    assert "no tenant named 'Fabrikam'" in one_line_error(run(config, "connect", "--tenant", "Fabrikam"))
    assert identity_sandbox.requests["devicecode"] == asked
    assert run(config, "connect").exit_code == 2  # neither --name nor --tenant
    assert run(config, "connect", "--name", "X", "--mailbox", "not-an-address").exit_code == 2


# --- consent lapses and reconnecting -------------------------------------------------------
def test_consent_revoked_alerts_once_and_reconnect_resumes_polling_from_the_old_cursor(
    config, graph, identity_sandbox
) -> None:  # type: ignore[no-untyped-def]
    scanner_module = pytest.importorskip("monitor.scanner")
    connected(config)
    settings, engine = load_settings(config), engine_for(config)
    provider = TokenProvider(settings, engine)
    scanner = scanner_module.Scanner(settings, engine, scanner_module.provider_tokens(provider))
    mailbox_id = mailboxes_of(config)[OWNER].id

    def deliver(subject: str) -> None:
        graph.add_message(
            OWNER,
            {
                "subject": subject,
                "from": {"emailAddress": {"address": "rep@vendor.example", "name": "Rep"}},
                "toRecipients": [{"emailAddress": {"address": OWNER}}],
                "body": {"contentType": "text", "content": "Hello"},
            },
        )

    def seen() -> int:  # messages the scan read, whether or not the detectors could judge them
        result = scanner.scan_mailbox(mailbox_id)
        return result.messages + result.failed

    deliver("first")
    assert seen() == 1
    with session_scope(engine) as session:
        cursor = session.exec(select(FolderCursor).where(FolderCursor.mailbox_id == mailbox_id)).one()
    assert cursor.delta_link

    identity_sandbox.revoke_consent(OWNER)  # Graph refuses the token, and the IdP refuses to refresh it
    deliver("while disconnected")
    for _ in range(3):
        scanner.scan_mailbox(mailbox_id)
    tenant = tenant_of(config)
    assert tenant.status == "needs_reconnect" and "AADSTS65001" in tenant.status_reason
    assert health_events(config) == ["needs_reconnect"]
    listing = run(config, "tenants").output
    assert "needs_reconnect" in listing and "AADSTS65001" in listing

    result = run(config, "connect", "--tenant", NAME)
    assert result.exit_code == 0, result.output
    assert "Reconnected 'Contoso Dental'" in result.output
    assert tenant_of(config).status == "active"
    assert health_events(config) == ["needs_reconnect", "reconnected"]
    assert mailboxes_of(config)[OWNER].id == mailbox_id
    with session_scope(engine) as session:
        assert (
            session.exec(select(FolderCursor).where(FolderCursor.mailbox_id == mailbox_id)).one().delta_link
            == cursor.delta_link
        )

    # Polling resumes from the kept cursor: only the message that arrived meanwhile is new.
    assert seen() == 1
    assert health_events(config) == ["needs_reconnect", "reconnected"]


def test_reconnect_by_someone_from_another_tenant_is_refused(config, identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    connected(config)
    identity_sandbox.auto_approve = "admin@fabrikam.example"
    line = one_line_error(run(config, "connect", "--tenant", NAME))
    assert "AADSTS50020" in line
    assert tenant_of(config).username == OWNER


# --- bad input: one line, the way out, no traceback ----------------------------------------
def test_wrong_client_id(make_settings, graph) -> None:  # type: ignore[no-untyped-def]
    config = make_settings(graph_endpoint=graph.base_url, client_id="00000000-0000-0000-0000-0000000000ff")
    line = one_line_error(run(config, "connect", "--name", NAME))
    assert (
        "does not know the app '00000000-0000-0000-0000-0000000000ff' (AADSTS700016): set [identity] client_id"
        in line
    )


def test_missing_client_id(make_settings, graph) -> None:  # type: ignore[no-untyped-def]
    result = run(make_settings(graph_endpoint=graph.base_url, client_id=""), "connect", "--name", NAME)
    assert one_line_error(result) == (
        "error: set [identity] client_id to your app registration's Application (client) ID"
    )
    assert result.exit_code == 2


def test_unreachable_authority(make_settings, graph) -> None:  # type: ignore[no-untyped-def]
    config = make_settings(graph_endpoint=graph.base_url, authority_host="https://127.0.0.1:1")
    line = one_line_error(run(config, "connect", "--name", NAME))
    assert line.startswith(
        "error: cannot reach the identity platform at https://127.0.0.1:1 (connection failed): check"
    )


def test_declined_device_code(config, identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    identity_sandbox.auto_approve, identity_sandbox.interval = None, 1

    def decline_when_shown() -> None:
        for _ in range(100):
            for code in list(identity_sandbox.device_codes.values()):
                identity_sandbox.decline(code.user_code)
                return
            time.sleep(0.05)

    threading.Thread(target=decline_when_shown, daemon=True).start()
    result = run(config, "connect", "--name", NAME)
    assert "enter the code" in result.output
    assert (
        one_line_error(result)
        == "error: sign-in was declined on the device login page: run the command again and accept"
    )
    assert run(config, "tenants").output.startswith("No tenants yet")


def test_expired_device_code(config, identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    identity_sandbox.auto_approve, identity_sandbox.interval = None, 1
    result = run(config, "connect", "--name", NAME, "--timeout", "1")
    assert "Waiting for Contoso Dental to sign in (up to 1 s" in result.output
    assert one_line_error(result) == (
        "error: nobody signed in before the code expired (waited 1 s): run the command again"
    )


def test_corrupted_cache(config) -> None:  # type: ignore[no-untyped-def]
    connected(config)
    settings = load_settings(config)
    with session_scope(engine_for(config)) as session:
        tenant = session.exec(select(Tenant)).one()
        tenant.token_cache = TokenVault.from_settings(settings).encrypt('{"AccessToken": ')
    line = one_line_error(run(config, "mailboxes", "add", "--tenant", NAME, FRONTDESK))
    assert line == f"error: tenant 'Contoso Dental': token cache is damaged: reconnect with `{RECONNECT}`"
    assert tenant_of(config).status == "needs_reconnect"
    assert run(config, "connect", "--tenant", NAME).exit_code == 0
    assert tenant_of(config).status == "active"


def test_wrong_encryption_key_then_reconnect_with_the_new_one(config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    connected(config)
    monkeypatch.setenv("OUTREACH_MONITOR_KEY", Fernet.generate_key().decode())
    shown = run(config, "tenants", "show", NAME)
    assert "Token cache       encrypted; cannot be decrypted with this key" in shown.output
    line = one_line_error(run(config, "tenants", "check", NAME))
    assert (
        line
        == f"error: tenant 'Contoso Dental': token cache cannot be decrypted with this key: reconnect with `{RECONNECT}`"
    )
    assert health_events(config) == ["needs_reconnect"]
    assert run(config, "connect", "--tenant", NAME).exit_code == 0
    assert tenant_of(config).status == "active"
    assert health_events(config) == ["needs_reconnect", "reconnected"]


def test_malformed_encryption_key_stops_before_sign_in(config, monkeypatch, identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OUTREACH_MONITOR_KEY", "not-a-key")
    line = one_line_error(run(config, "connect", "--name", NAME))
    assert "OUTREACH_MONITOR_KEY is not a valid key" in line and "not-a-key" not in line
    assert identity_sandbox.requests["devicecode"] == 0


# --- tenants pause / resume / remove ---------------------------------------------------------
def test_pause_and_resume(config) -> None:  # type: ignore[no-untyped-def]
    connected(config)
    assert "Paused 'Contoso Dental'" in run(config, "tenants", "pause", NAME).output
    assert tenant_of(config).status == "paused"
    assert "already paused" in run(config, "tenants", "pause", NAME).output
    resumed = run(config, "tenants", "resume", NAME)
    assert resumed.exit_code == 0 and "its sign-in works" in resumed.output
    assert tenant_of(config).status == "active"
    assert health_events(config) == []


def test_remove_keeps_data_or_deletes_it_after_confirmation(config) -> None:  # type: ignore[no-untyped-def]
    connected(config, FRONTDESK)
    engine = engine_for(config)
    with session_scope(engine) as session:
        owner_box = session.exec(select(Mailbox).where(Mailbox.address == OWNER)).one()
        session.add(
            FolderCursor(
                mailbox_id=owner_box.id or 0, folder="inbox", delta_link="http://x/delta?$deltatoken=1"
            )
        )

    assert run(config, "tenants", "remove", NAME, input="n\n").exit_code == 1  # aborted: nothing changes
    assert tenant_of(config).token_cache

    kept = run(config, "tenants", "remove", NAME, input="y\nn\n")
    assert kept.exit_code == 0 and "its data is kept" in kept.output
    tenant = tenant_of(config)
    assert (tenant.status, tenant.token_cache, tenant.home_account_id) == ("disconnected", None, "")
    assert not any(m.enabled for m in mailboxes_of(config).values())

    purged = run(config, "tenants", "remove", NAME, "--yes")
    assert purged.exit_code == 0 and "and its data (2 mailboxes)" in purged.output
    with session_scope(engine) as session:
        assert session.exec(select(Tenant)).all() == []
        assert session.exec(select(Mailbox)).all() == []
        assert session.exec(select(FolderCursor)).all() == []


# --- mailboxes ---------------------------------------------------------------------------------
def test_mailboxes_add_needs_shared_consent_then_remove_and_add_again(config) -> None:  # type: ignore[no-untyped-def]
    connected(config)  # consented without Mail.Read.Shared
    line = one_line_error(run(config, "mailboxes", "add", "--tenant", NAME, FRONTDESK))
    assert "does not cover shared mailboxes" in line and f"{RECONNECT} --mailbox ADDRESS" in line
    assert tenant_of(config).status == "active"  # the own mailbox is fine: nothing is marked
    assert health_events(config) == []

    assert run(config, "connect", "--tenant", NAME, "--mailbox", FRONTDESK).exit_code == 0
    assert mailboxes_of(config)[FRONTDESK].enabled

    removed = run(config, "mailboxes", "remove", "--tenant", NAME, FRONTDESK)
    assert removed.exit_code == 0 and "Stopped watching frontdesk@contoso.example" in removed.output
    listed = run(config, "mailboxes", "list", "--tenant", NAME).output
    assert [line.split()[:3] for line in listed.splitlines()[1:]] == [
        [FRONTDESK, "shared", "removed"],
        [OWNER, "own", "ok"],
    ]

    added = run(config, "mailboxes", "add", "--tenant", NAME, FRONTDESK, PRIVATE)
    assert added.exit_code == 1
    assert [FRONTDESK, "shared", "readable"] in [line.split() for line in added.output.splitlines()]
    assert "NOT ADDED: ceo@contoso.example cannot be read (403 ErrorAccessDenied)" in added.output
    assert one_line_error(added) == "error: 1 of 2 mailbox(es) could not be added (see above)"
    boxes = mailboxes_of(config)
    assert boxes[FRONTDESK].enabled and PRIVATE not in boxes

    assert run(config, "mailboxes", "remove", "--tenant", NAME, "nobody@contoso.example").exit_code == 1
    assert run(config, "mailboxes", "add", "--tenant", NAME, "not an address").exit_code == 2
