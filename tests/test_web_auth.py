"""Signing in to the review log: sessions, cookies, CSRF, lock-out, roles and the secret."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from web_support import PASSWORD, Client, add_users, seed

from monitor.config import Settings
from monitor.db import session_scope
from monitor.errors import ConfigError
from monitor.models import Detection, User, utcnow
from monitor.web import create_app
from monitor.web.sessions import session_secret
from monitor.web.users import Lockout, authenticate


@pytest.fixture
def world(web_engine):
    add_users(web_engine, alice="admin", rita="reviewer", vic="viewer")
    return seed(web_engine)


def test_pages_need_signing_in_and_sign_in_returns_to_the_page_asked_for(web_app, world):
    client = Client(web_app)
    first = client.get("/log?vendor=Dell")
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/signin?next=")
    client.get(first.headers["Location"])
    response = client.post("/signin", {"username": "Rita", "password": PASSWORD, "next": "/log?vendor=Dell"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/log?vendor=Dell"
    page = client.get("/log?vendor=Dell").get_data(as_text=True)
    assert "Refresh your laptops directly with Dell" in page
    assert "Free Copilot workshop" not in page


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example"]
)
def test_sign_in_never_redirects_to_another_site(web_app, world, target):
    client = Client(web_app)
    client.get("/signin")
    response = client.post("/signin", {"username": "rita", "password": PASSWORD, "next": target})
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_answer(web_app, world):
    client = Client(web_app)
    wrong = client.sign_in("rita", "not the password at all")
    unknown = client.sign_in("nobody", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "Wrong user name or password." in response.get_data(as_text=True)
    assert client.get("/log").status_code == 302


def test_repeated_failures_lock_the_name_and_the_lock_is_shown(web_app, world):
    client = Client(web_app)
    answers = [client.sign_in("vic", f"wrong password {i}") for i in range(5)]
    assert "Wrong user name or password." in answers[0].get_data(as_text=True)
    locked = answers[-1].get_data(as_text=True)
    assert "Too many failed sign-ins" in locked and "locked until" in locked
    # Even the right password is refused while locked.
    right = client.sign_in("vic", PASSWORD)
    assert right.status_code == 401
    assert "Too many failed sign-ins" in right.get_data(as_text=True)

    admin = Client(web_app)
    admin.sign_in("alice")
    users_page = admin.get("/users").get_data(as_text=True)
    assert "Locked until" in users_page
    vic = _user_id(web_app, "vic")
    assert admin.post(f"/users/{vic}", {"action": "unlock"}).status_code == 302
    assert "Locked until" not in admin.get("/users").get_data(as_text=True)
    assert client.sign_in("vic", PASSWORD).status_code == 302


def test_the_lock_ends_after_the_lockout_period(web_engine, world):
    lockout = Lockout(max_failures=3, window=timedelta(minutes=15))
    start = utcnow()
    with session_scope(web_engine) as session:
        for _ in range(3):
            authenticate(session, "rita", "wrong", lockout=lockout, now=start)
        assert (
            authenticate(session, "rita", PASSWORD, lockout=lockout, now=start + timedelta(minutes=5)).user
            is None
        )
        later = authenticate(session, "rita", PASSWORD, lockout=lockout, now=start + timedelta(minutes=16))
        assert later.user is not None and later.user.username == "rita"


def test_session_cookie_is_httponly_and_samesite_lax(web_app, world):
    client = Client(web_app)
    response = client.sign_in("rita")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("om_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never come back


def test_session_cookie_is_secure_when_served_over_https(web_settings, web_engine, fast_hashing, world):
    settings = web_settings.model_copy(
        update={"web": web_settings.web.model_copy(update={"base_url": "https://review.msp.example"})}
    )
    app = create_app(settings, web_engine)
    client = Client(app)
    client.get("/signin", base_url="https://review.msp.example")
    response = client.post(
        "/signin",
        {"username": "rita", "password": PASSWORD},
        base_url="https://review.msp.example",
        headers={"Referer": "https://review.msp.example/signin"},
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-om_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert "max-age" in response.headers.get("Strict-Transport-Security", "")


def test_forms_without_the_csrf_token_change_nothing(web_app, web_engine, world):
    client = Client(web_app)
    client.sign_in("rita")
    detection = world["ids"][0]
    forged = client.post(f"/detections/{detection}/triage", {"status": "acknowledged"}, csrf=False)
    assert forged.status_code == 400
    assert "expired or did not come from this site" in forged.get_data(as_text=True)
    wrong = client.post(f"/detections/{detection}/triage", {"status": "acknowledged", "csrf_token": "forged"})
    assert wrong.status_code == 400
    with Session(web_engine) as session:
        assert session.get(Detection, detection).status == "new"
    # Signing in is a change too.
    other = Client(web_app)
    assert other.post("/signin", {"username": "rita", "password": PASSWORD}, csrf=False).status_code == 400


def test_signing_out_ends_the_session_even_for_a_copied_cookie(web_app, world):
    client = Client(web_app)
    client.sign_in("rita")
    stolen = client.http.get_cookie("om_session").value
    assert client.post("/signout").status_code == 302
    assert client.get("/log").status_code == 302
    thief = web_app.test_client()
    thief.set_cookie("om_session", stolen)
    assert thief.get("/log").status_code == 302


def test_changing_the_password_ends_other_sign_ins(web_app, world):
    laptop, phone = Client(web_app), Client(web_app)
    laptop.sign_in("rita")
    phone.sign_in("rita")
    new = "a brand new passphrase"
    response = laptop.post("/account", {"action": "password", "current": PASSWORD, "new": new, "repeat": new})
    assert response.status_code == 302
    assert phone.get("/log").status_code == 302
    assert Client(web_app).sign_in("rita", PASSWORD).status_code == 401
    assert Client(web_app).sign_in("rita", new).status_code == 302


def test_roles_viewer_reads_reviewer_triages_admin_manages_users(web_app, web_engine, world):
    detection = world["ids"][1]
    viewer, reviewer, admin = Client(web_app), Client(web_app), Client(web_app)
    viewer.sign_in("vic")
    reviewer.sign_in("rita")
    admin.sign_in("alice")

    assert viewer.get("/log").status_code == 200
    assert viewer.get("/log.csv").status_code == 200
    page = viewer.get(f"/detections/{detection}").get_data(as_text=True)
    assert 'id="triage"' not in page
    refused = viewer.post(f"/detections/{detection}/triage", {"status": "acknowledged"})
    assert refused.status_code == 403
    with Session(web_engine) as session:
        assert session.get(Detection, detection).status == "new"

    assert reviewer.post(f"/detections/{detection}/triage", {"status": "acknowledged"}).status_code == 302
    assert reviewer.get("/users").status_code == 403
    assert "Users</a>" not in reviewer.get("/log").get_data(as_text=True)

    assert admin.get("/users").status_code == 200
    added = admin.post(
        "/users", {"username": "Newbie", "role": "reviewer", "password": PASSWORD, "repeat": PASSWORD}
    )
    assert added.status_code == 302
    assert Client(web_app).sign_in("newbie").status_code == 302
    # A role change applies on the next page, without signing in again.
    assert (
        admin.post(f"/users/{_user_id(web_app, 'vic')}", {"action": "role", "role": "reviewer"}).status_code
        == 302
    )
    assert (
        viewer.post(
            f"/detections/{detection}/triage", {"status": "resolved", "outcome": "no_action"}
        ).status_code
        == 302
    )


def test_the_last_admin_cannot_be_demoted_or_removed(web_app, world):
    admin = Client(web_app)
    admin.sign_in("alice")
    alice = _user_id(web_app, "alice")
    demoted = admin.post(f"/users/{alice}", {"action": "role", "role": "viewer"})
    assert demoted.status_code == 400
    assert "only admin" in demoted.get_data(as_text=True)
    assert admin.get("/users").status_code == 200


def test_a_removed_user_is_signed_out_at_once(web_app, world):
    admin, viewer = Client(web_app), Client(web_app)
    admin.sign_in("alice")
    viewer.sign_in("vic")
    assert admin.post(f"/users/{_user_id(web_app, 'vic')}", {"action": "remove"}).status_code == 302
    assert viewer.get("/log").status_code == 302
    assert Client(web_app).sign_in("vic").status_code == 401


def test_pages_forbid_scripts_framing_and_caching(web_app, world):
    client = Client(web_app)
    client.sign_in("vic")
    response = client.get("/log")
    assert (
        "script-src" not in response.headers["Content-Security-Policy"]
    )  # default-src 'none' covers scripts
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_secret_file_is_created_private_and_kept(web_settings):
    first = session_secret(web_settings)
    path = web_settings.data_dir / "web-secret.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert session_secret(web_settings) == first
    assert len(first) >= 32
    assert first not in web_settings.model_dump_json()


def test_the_secret_can_come_from_the_environment(tmp_path):
    settings = Settings.model_validate({"database": {"data_dir": str(tmp_path)}})
    value = "x" * 40
    assert session_secret(settings, {"OUTREACH_MONITOR_WEB_SECRET": value}) == value
    assert not (tmp_path / "web-secret.key").exists()
    with pytest.raises(ConfigError, match="too short"):
        session_secret(settings, {"OUTREACH_MONITOR_WEB_SECRET": "short"})


def _user_id(app, name: str) -> int:
    engine = app.extensions["outreach_monitor"].engine
    with Session(engine) as session:
        return session.exec(select(User.id).where(User.username == name)).one()
