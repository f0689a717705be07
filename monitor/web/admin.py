"""User management for admins: add, change role, reset password, unlock, remove.

The same operations are on the command line (`outreach-monitor users ...`), which is also how
the first admin is created. The page never lets the last admin go, so it cannot lock everyone out.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from monitor.db import session_scope
from monitor.errors import InputError
from monitor.models import User, utcnow
from monitor.web.app import db, requires, web
from monitor.web.users import ROLE_HELP, add_user, count_admins, remove_user, set_password, set_role, unlock

log = logging.getLogger(__name__)
blueprint = Blueprint("admin", __name__)


@blueprint.route("/users")
@requires("admin")
def users() -> str:
    return _users_page()


def _users_page(error: str = "", form: dict[str, str] | None = None) -> str:
    now = utcnow()
    rows = db().exec(select(User).order_by(col(User.username))).all()
    locks = {u.id: web().lockout.locked_until(db(), u.username, now) for u in rows}
    return render_template("users.html", rows=rows, locks=locks, error=error, form=form or {}, role_help=ROLE_HELP)


@blueprint.route("/users", methods=["POST"])
@requires("admin")
def add() -> Response | tuple[str, int]:
    form = request.form
    if form.get("password", "") != form.get("repeat", ""):
        return _users_page("The two passwords differ.", dict(form)), 400
    try:
        with session_scope(web().engine) as session:
            user = add_user(session, form.get("username", ""), form.get("password", ""), form.get("role", "viewer"))
            name, role = user.username, user.role
    except InputError as exc:
        return _users_page(f"{str(exc).capitalize()}.", {"username": form.get("username", "")}), 400
    log.info("%s added user %s (%s)", g.user.username, name, role)
    flash(f"Added {name} as {role}.")
    return redirect(url_for("admin.users"))


def _change(user_id: int, action: str) -> tuple[str, str]:
    """Apply one change to a user; returns (message, error)."""
    with session_scope(web().engine) as session:
        user = session.get(User, user_id)
        if user is None:
            return "", "That user no longer exists."
        return _apply(session, user, action)


def _apply(session: Session, user: User, action: str) -> tuple[str, str]:
    last_admin = user.role == "admin" and count_admins(session) <= 1
    if action == "role":
        role = request.form.get("role", "")
        if last_admin and role != "admin":
            return "", f"{user.username} is the only admin; make someone else admin first."
        try:
            set_role(session, user, role)
        except InputError as exc:
            return "", f"{str(exc).capitalize()}."
        return f"{user.username} is now {role}.", ""
    if action == "password":
        if request.form.get("password", "") != request.form.get("repeat", ""):
            return "", "The two passwords differ."
        try:
            set_password(session, user, request.form.get("password", ""))
        except InputError as exc:
            return "", f"{str(exc).capitalize()}."
        return f"{user.username} has a new password; their sign-ins have ended.", ""
    if action == "unlock":
        unlock(session, user.username)
        return f"{user.username} is unlocked.", ""
    if action == "remove":
        if user.id == g.user.id:
            return "", "You cannot remove yourself; ask another admin."
        if last_admin:
            return "", f"{user.username} is the only admin and cannot be removed."
        remove_user(session, user)
        return f"Removed {user.username}. Their triage history is kept.", ""
    return "", "Unknown action."


@blueprint.route("/users/<int:user_id>", methods=["POST"])
@requires("admin")
def change(user_id: int) -> Response | tuple[str, int]:
    action = request.form.get("action", "")
    message, error = _change(user_id, action)
    if error:
        return _users_page(error), 400
    log.info("%s: %s", g.user.username, message)
    flash(message)
    return redirect(url_for("admin.users"))
