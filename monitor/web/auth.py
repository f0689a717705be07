"""Signing in and out, and one's own account (password, API token)."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from sqlmodel import Session
from werkzeug.wrappers import Response

from monitor.db import session_scope
from monitor.errors import InputError
from monitor.models import User
from monitor.web import sessions
from monitor.web.app import plain, web
from monitor.web.users import authenticate, issue_token, revoke_token, set_password, verify_password

log = logging.getLogger(__name__)
blueprint = Blueprint("auth", __name__)


def _safe_next(target: str) -> str:
    """Only a path on this site: never another origin (``//host``, ``/\\host``, ``https:``, nor
    ``/<tab>/host``, which browsers read as ``//host`` once they drop the tab)."""
    plain_path = target.startswith("/") and not any(c <= " " or c in "\\\x7f" for c in target)
    if plain_path and not target.startswith("//"):
        return target
    return url_for("pages.overview")


@blueprint.route("/signin", methods=["GET", "POST"])
def signin() -> str | Response | tuple[str, int]:
    target = _safe_next(request.values.get("next", ""))
    if g.user is not None:
        return redirect(target)
    if request.method == "GET":
        return render_template("signin.html", next=target, username="")
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    with session_scope(web().engine) as db:
        result = authenticate(db, username, password, lockout=web().lockout, remote_addr=request.remote_addr or "")
        token = sessions.start(db, result.user, web().session_lifetime) if result.user else ""
        role = result.user.role if result.user else ""
    if result.user is None:
        name = plain(username, 64)
        if result.locked_until is not None:
            log.warning("sign-in refused for %r from %s: locked", name, request.remote_addr)
            message = (
                f"Too many failed sign-ins for this user name. It is locked until "
                f"{result.locked_until.astimezone(web().zone):%H:%M} ({web().settings.web.timezone}); "
                f"an admin can unlock it sooner."
            )
        else:
            log.info("sign-in failed for %r from %s", name, request.remote_addr)
            message = "Wrong user name or password."
        return render_template("signin.html", next=target, username=name, error=message,
                               locked=result.locked_until is not None), 401
    # A fresh cookie: whatever the browser held before signing in (and its CSRF token) is dropped.
    session.clear()
    session["sid"] = token
    session.permanent = True
    log.info("%s signed in (%s) from %s", plain(username, 64), role, request.remote_addr)
    return redirect(target)


@blueprint.route("/signout", methods=["POST"])
def signout() -> Response:
    with session_scope(web().engine) as db:
        sessions.end(db, str(session.get("sid") or ""))
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.signin"))


@blueprint.route("/account", methods=["GET", "POST"])
def account() -> str | Response | tuple[str, int]:
    """Change one's password; create or revoke one's token for the JSON API."""
    token = error = ""
    action = request.form.get("action", "") if request.method == "POST" else ""
    if action:
        with session_scope(web().engine) as db:
            user = db.get(User, g.user.id)
            assert user is not None
            if action == "password":
                error = _change_password(db, user)
            elif action == "token":
                token = issue_token(db, user)
            elif action == "revoke":
                revoke_token(db, user)
        if action == "password" and not error:
            session.clear()
            flash("Your password is changed, and every sign-in with the old one has ended. Sign in again.")
            return redirect(url_for("auth.signin"))
        if action == "revoke":
            flash("Your API token is revoked.")
            return redirect(url_for("auth.account"))
        g.user = user
    return render_template("account.html", token=token, error=error), (400 if error else 200)


def _change_password(db: Session, user: User) -> str:
    """The empty string when changed, else what is wrong."""
    if not verify_password(user, request.form.get("current", "")):
        return "Your current password is not right."
    new = request.form.get("new", "")
    if new != request.form.get("repeat", ""):
        return "The two new passwords differ."
    try:
        set_password(db, user, new)
    except InputError as exc:
        return f"{str(exc).capitalize()}."
    return ""
