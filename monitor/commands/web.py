"""The review log on the command line: `serve`, and `users ...` to manage who may sign in.

`users` is also the way in on a fresh install: `outreach-monitor users add NAME --role admin`
creates the first admin, who can then manage the others on the Users page.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from sqlmodel import col, select

from monitor.cli import App, pass_app
from monitor.db import session_scope
from monitor.errors import ConfigError, InputError
from monitor.http import is_loopback_host
from monitor.models import User, utcnow
from monitor.web.users import (
    ROLE_HELP,
    ROLES,
    Lockout,
    add_user,
    get_user,
    issue_token,
    remove_user,
    revoke_token,
    set_password,
    set_role,
    unlock,
)


@click.command()
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: [web] port, 8080).")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True, help="Worker threads.")
@pass_app
def serve(app: App, host: str | None, port: int | None, threads: int) -> None:
    """Serve the review log (the intercepted-outreach web pages and JSON API)."""
    from waitress.server import create_server

    from monitor.web import create_app

    settings = app.settings
    host = host or settings.web.host
    port = settings.web.port if port is None else port
    web_app = create_app(settings, app.engine)
    with session_scope(app.engine) as session:
        users = len(session.exec(select(User.id)).all())
    if not users:
        click.echo("No users yet: create the first with `outreach-monitor users add NAME --role admin`.", err=True)
    if not is_loopback_host(host) and not settings.web.base_url.startswith("https://"):
        click.echo(
            f"warning: listening on {host} without TLS; put an https reverse proxy in front and set "
            "[web] base_url to its https:// address (this also makes the session cookie Secure).",
            err=True,
        )
    # ident=None: no Server header naming the software.
    try:
        server = create_server(web_app, host=host, port=port, threads=threads, ident=None)
    except OSError as exc:
        raise ConfigError(f"[web] host/port: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Review log on http://{shown}:{server.effective_port}/ (links in alerts use "
               f"{settings.web.base_url}); Ctrl-C stops it.")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@click.group()
def users() -> None:
    """Who may sign in to the review log, and with which role.

    \b
    viewer    reads the log and exports it
    reviewer  also triages detections and edits the allow-list
    admin     also manages users (here or on the Users page)
    """


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise InputError("no password on standard input")
        return value
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@pass_app
def users_add(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Add a user NAME (asks for the password twice)."""
    password = _read_password(password_stdin)
    with session_scope(app.engine) as session:
        user = add_user(session, name, password, role)
        click.echo(f"Added {user.username} as {role} ({ROLE_HELP[role]}).")


@users.command("list")
@pass_app
def users_list(app: App) -> None:
    """List the users, their roles and whether they are locked out."""
    lockout = Lockout(app.settings.web.max_failed_signins, timedelta(minutes=app.settings.web.lockout_minutes))
    now = utcnow()
    with session_scope(app.engine) as session:
        rows = session.exec(select(User).order_by(col(User.username))).all()
        if not rows:
            click.echo("No users. Add one with `outreach-monitor users add NAME --role admin`.")
            return
        lines = [("user", "role", "last sign-in", "state", "api token")]
        for user in rows:
            until = lockout.locked_until(session, user.username, now)
            state = f"locked until {until:%Y-%m-%d %H:%M} UTC" if until else "active"
            last = f"{user.last_signin_at:%Y-%m-%d %H:%M}" if user.last_signin_at else "never"
            token = f"since {user.api_token_created_at:%Y-%m-%d}" if user.api_token_created_at else "-"
            lines.append((user.username, user.role, last, state, token))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


@users.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def users_remove(app: App, name: str, yes: bool) -> None:
    """Remove a user; their sign-ins end at once, their triage history is kept."""
    with session_scope(app.engine) as session:
        user = get_user(session, name)
        if not yes:
            click.confirm(f"Remove {user.username} ({user.role})?", abort=True)
        remove_user(session, user)
        click.echo(f"Removed {user.username}.")


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@pass_app
def users_set_role(app: App, name: str, role: str) -> None:
    """Change the role of a user (takes effect on their next page)."""
    with session_scope(app.engine) as session:
        user = get_user(session, name)
        set_role(session, user, role)
        click.echo(f"{user.username} is now {role} ({ROLE_HELP[role]}).")


@users.command("unlock")
@click.argument("name")
@pass_app
def users_unlock(app: App, name: str) -> None:
    """Lift a lock-out after too many failed sign-ins."""
    with session_scope(app.engine) as session:
        count = unlock(session, name)
    click.echo(f"Unlocked {name.strip().lower()} ({count} failed sign-in{'s' if count != 1 else ''} forgotten).")


@users.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@pass_app
def users_set_password(app: App, name: str, password_stdin: bool) -> None:
    """Give a user a new password; their current sign-ins end."""
    with session_scope(app.engine) as session:
        get_user(session, name)  # a typo fails before the password is asked for
    password = _read_password(password_stdin)
    with session_scope(app.engine) as session:
        user = get_user(session, name)
        set_password(session, user, password)
        unlock(session, user.username)
    click.echo(f"{user.username} has a new password.")


@users.command("token")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Remove the user's token instead.")
@pass_app
def users_token(app: App, name: str, revoke: bool) -> None:
    """Create (or replace) the user's bearer token for the JSON API, printed once."""
    with session_scope(app.engine) as session:
        user = get_user(session, name)
        if revoke:
            revoke_token(session, user)
            click.echo(f"Revoked the API token of {user.username}.")
            return
        token = issue_token(session, user)
    click.echo(token)
    click.echo(f"(the API token of {user.username}, a {user.role}: store it now, it is not shown again)", err=True)


COMMANDS = [serve, users]
