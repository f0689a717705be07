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
    """The sandbox identity provider over TLS; device codes are approved for OWNER after one poll."""
    from monitor.sandbox.identity import IdentitySandbox

    with IdentitySandbox(directory, auto_approve=OWNER) as idp:
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
