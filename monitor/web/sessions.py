"""Signed-in browsers: the cookie-signing secret and server-side session rows.

Flask signs the session cookie with the secret; the cookie carries a random token whose
SHA-256 names a :class:`~monitor.models.WebSession` row. Signing out, removing a user or
changing a password deletes rows, which ends those sign-ins at once, however long the cookie
would have lived.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session, col, select

from monitor.config import WEB_SECRET_ENV, Settings, secret
from monitor.errors import ConfigError
from monitor.models import User, WebSession, utcnow


def secret_path(settings: Settings) -> Path:
    path = Path(settings.web.secret_file).expanduser()
    return path if path.is_absolute() else settings.data_dir / path


def session_secret(settings: Settings, environ: dict[str, str] | None = None) -> str:
    """OUTREACH_MONITOR_WEB_SECRET, else the secret file (created 0600 with a random secret)."""
    from_env = secret(WEB_SECRET_ENV, environ)
    if from_env:
        if len(from_env) < 32:
            raise ConfigError(f"{WEB_SECRET_ENV} is too short: use at least 32 random characters")
        return from_env
    path = secret_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two processes starting at once must not each write a different secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the web secret file {path}: {exc.__class__.__name__}") from None
    if len(value) < 32:
        raise ConfigError(f"the web secret file {path} holds fewer than 32 characters; delete it to get a new one")
    return value


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user: User, lifetime: timedelta, now: datetime | None = None) -> str:
    """A new sign-in for ``user``; returns the token for the cookie. Expired rows are swept."""
    now = now or utcnow()
    session.exec(delete(WebSession).where(col(WebSession.expires_at) <= now))  # type: ignore[call-overload]
    token = secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(WebSession(id=_key(token), user_id=user.id, created_at=now, expires_at=now + lifetime))
    return token


def lookup(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The user signed in with ``token``, or None when it is unknown, ended or expired."""
    if not token or len(token) > 200:
        return None
    row = session.exec(
        select(User).join(WebSession, col(WebSession.user_id) == User.id)
        .where(WebSession.id == _key(token), WebSession.expires_at > (now or utcnow()))
    ).first()
    return row


def end(session: Session, token: str) -> None:
    if token:
        session.exec(delete(WebSession).where(col(WebSession.id) == _key(token)))  # type: ignore[call-overload]
