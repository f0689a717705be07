"""Staff accounts of the review log: roles, passwords, lock-out and API tokens.

Used by the web app and by `outreach-monitor users ...`. Passwords are hashed with argon2id
(argon2-cffi's RFC 9106 defaults); API tokens are random and only their SHA-256 is stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from monitor.errors import InputError
from monitor.models import SignInFailure, User, WebSession, utcnow

ROLES = ("viewer", "reviewer", "admin")
ROLE_HELP = {
    "viewer": "reads the log and exports it",
    "reviewer": "also triages detections and edits the allow-list",
    "admin": "also manages users",
}
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,63}$")
TOKEN_PREFIX = "omt_"

# Replaceable so that tests can use argon2.profiles.CHEAPEST; production keeps the defaults.
HASHER = PasswordHasher()
_dummy_hash: tuple[PasswordHasher, str] | None = None


def has_role(role: str, needed: str) -> bool:
    """Whether ``role`` includes everything ``needed`` may do."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def normalise_username(name: str) -> str:
    value = name.strip().lower()
    if not _USERNAME.match(value):
        raise InputError(
            "a user name is 1-64 characters: letters, digits and . _ @ + - (starting with a letter or digit)"
        )
    return value


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def verify_password(user: User, password: str) -> bool:
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise InputError(f"no user named {username.strip().lower()!r}: see `outreach-monitor users list`")
    return user


def add_user(session: Session, username: str, password: str, role: str) -> User:
    name = normalise_username(username)
    check_role(role)
    check_password(password)
    if find_user(session, name) is not None:
        raise InputError(f"a user named {name!r} already exists")
    user = User(username=name, password_hash=HASHER.hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def count_admins(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User).where(User.role == "admin")).one()


def set_role(session: Session, user: User, role: str) -> None:
    user.role = check_role(role)
    session.add(user)


def set_password(session: Session, user: User, password: str) -> None:
    """A new password; every sign-in of the user ends, so an old session cannot outlive it."""
    user.password_hash = HASHER.hash(check_password(password))
    session.add(user)
    end_sessions(session, user)


def remove_user(session: Session, user: User) -> None:
    end_sessions(session, user)
    session.delete(user)


def end_sessions(session: Session, user: User) -> None:
    session.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))  # type: ignore[call-overload]


def unlock(session: Session, username: str) -> int:
    """Forget the failed sign-ins of ``username``; returns how many there were."""
    result = session.exec(delete(SignInFailure).where(col(SignInFailure.username) == username.strip().lower()))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


# --- signing in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    max_failures: int
    window: timedelta

    def locked_until(self, session: Session, username: str, now: datetime) -> datetime | None:
        """When the lock on ``username`` ends, or None when it is not locked."""
        recent = session.exec(
            select(SignInFailure.at)
            .where(SignInFailure.username == username, SignInFailure.at > now - self.window)
            .order_by(col(SignInFailure.at).desc())
            .limit(self.max_failures)
        ).all()
        if len(recent) < self.max_failures:
            return None
        return recent[0] + self.window


@dataclass(frozen=True)
class SignIn:
    user: User | None = None
    locked_until: datetime | None = None


def _verify_dummy(password: str) -> None:
    """Spend the time a real check takes, so the answer's timing does not tell who exists."""
    global _dummy_hash
    if _dummy_hash is None or _dummy_hash[0] is not HASHER:
        _dummy_hash = (HASHER, HASHER.hash(secrets.token_urlsafe(16)))
    with contextlib.suppress(VerificationError):
        HASHER.verify(_dummy_hash[1], password)


def authenticate(session: Session, username: str, password: str, *, lockout: Lockout, remote_addr: str = "",
                 now: datetime | None = None) -> SignIn:
    """Check a sign-in; a failure is recorded, and a locked name is refused without a check."""
    now = now or utcnow()
    name = username.strip().lower()[:64]
    until = lockout.locked_until(session, name, now)
    if until is not None:
        return SignIn(locked_until=until)
    user = find_user(session, name) if name else None
    if user is None:
        _verify_dummy(password[:MAX_PASSWORD])
    if user is None or not verify_password(user, password):
        session.add(SignInFailure(username=name, remote_addr=remote_addr[:64], at=now))
        session.flush()
        return SignIn(locked_until=lockout.locked_until(session, name, now))
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    user.last_signin_at = now
    session.add(user)
    unlock(session, name)
    return SignIn(user=user)


# --- API tokens -------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User) -> str:
    """A new bearer token for the JSON API (replacing any earlier one); shown once, stored hashed."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user.api_token_hash = _token_hash(token)
    user.api_token_created_at = utcnow()
    session.add(user)
    return token


def revoke_token(session: Session, user: User) -> None:
    user.api_token_hash = ""
    user.api_token_created_at = None
    session.add(user)


def token_user(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return session.exec(select(User).where(User.api_token_hash == _token_hash(token))).first()
