"""`outreach-monitor users ...`: the way in on a fresh install, and account care from a shell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select
from web_support import PASSWORD, Client

from monitor.cli import cli
from monitor.db import make_engine, session_scope
from monitor.models import User
from monitor.web import create_app
from monitor.web.users import Lockout, authenticate


@pytest.fixture
def config(tmp_path, fast_hashing, monkeypatch):
    monkeypatch.delenv("OUTREACH_MONITOR_WEB_SECRET", raising=False)
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\ndata_dir = "{tmp_path / "data"}"\n[web]\nmax_failed_signins = 3\n', encoding="utf-8"
    )
    return path


def run(config, *args: str, input: str | None = None):
    result = CliRunner().invoke(cli, ["--config", str(config), *args], input=input, catch_exceptions=False)
    return result


def engine_of(config):
    from monitor.config import load_settings

    settings = load_settings(config)
    return settings, make_engine(settings.database_url)


def test_add_list_set_role_and_remove(config):
    added = run(config, "users", "add", "Alice", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "Added alice as admin" in added.output
    assert (
        run(config, "users", "add", "bob", input=f"{PASSWORD}\n{PASSWORD}\n").exit_code == 0
    )  # prompted twice

    listing = run(config, "users", "list").output
    assert "alice  admin" in listing and "bob    viewer" in listing and "never" in listing

    assert run(config, "users", "set-role", "bob", "reviewer").exit_code == 0
    assert "bob    reviewer" in run(config, "users", "list").output

    assert run(config, "users", "remove", "bob", "--yes").exit_code == 0
    assert "bob" not in run(config, "users", "list").output


def test_mistakes_are_one_clear_line(config):
    run(config, "users", "add", "alice", "--password-stdin", input=PASSWORD + "\n")
    again = run(config, "users", "add", "ALICE", "--password-stdin", input=PASSWORD + "\n")
    assert again.exit_code == 1 and "error: a user named 'alice' already exists" in again.output
    short = run(config, "users", "add", "carol", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    odd = run(config, "users", "add", "bad name!", "--password-stdin", input=PASSWORD + "\n")
    assert odd.exit_code == 1 and "user name" in odd.output
    missing = run(config, "users", "set-role", "nobody", "admin")
    assert missing.exit_code == 1 and "no user named 'nobody'" in missing.output
    role = run(config, "users", "set-role", "alice", "superuser")
    assert role.exit_code == 2  # click names the valid choices


def test_unlock_lifts_a_lock_out_and_list_shows_it(config):
    run(config, "users", "add", "vic", "--password-stdin", input=PASSWORD + "\n")
    settings, engine = engine_of(config)
    lockout = Lockout(settings.web.max_failed_signins, timedelta(minutes=settings.web.lockout_minutes))
    with session_scope(engine) as session:
        for _ in range(3):
            authenticate(session, "vic", "wrong password", lockout=lockout)
        assert authenticate(session, "vic", PASSWORD, lockout=lockout).user is None
    assert "locked until" in run(config, "users", "list").output
    unlocked = run(config, "users", "unlock", "vic")
    assert unlocked.exit_code == 0 and "3 failed sign-ins forgotten" in unlocked.output
    assert "active" in run(config, "users", "list").output
    with session_scope(engine) as session:
        assert authenticate(session, "vic", PASSWORD, lockout=lockout).user is not None


def test_set_password_and_the_new_one_signs_in(config):
    run(config, "users", "add", "vic", "--password-stdin", input=PASSWORD + "\n")
    new = "another long passphrase"
    assert run(config, "users", "set-password", "vic", "--password-stdin", input=new + "\n").exit_code == 0
    settings, engine = engine_of(config)
    app = create_app(settings, engine)
    assert Client(app).sign_in("vic", PASSWORD).status_code == 401
    assert Client(app).sign_in("vic", new).status_code == 302


def test_token_prints_a_bearer_token_for_the_api(config):
    run(config, "users", "add", "psa", "--password-stdin", input=PASSWORD + "\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "users", "token", "psa"])
    token = result.stdout.strip()
    assert token.startswith("omt_")
    settings, engine = engine_of(config)
    with Session(engine) as session:
        assert token not in session.exec(select(User.api_token_hash)).one()  # only its hash is kept
    api = create_app(settings, engine).test_client()
    assert api.get("/api/detections", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert run(config, "users", "token", "psa", "--revoke").exit_code == 0
    assert api.get("/api/detections", headers={"Authorization": f"Bearer {token}"}).status_code == 401
