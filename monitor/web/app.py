"""The review log's Flask application: configuration, the sign-in gate, roles and page helpers.

Pages are server-rendered Jinja2 templates (autoescaped: every subject, name and snippet came
from a stranger) and use no JavaScript; the Content-Security-Policy allows none. Every POST
carries a CSRF token (Flask-WTF). The session cookie is HttpOnly, SameSite=Lax, and Secure with
the ``__Host-`` prefix when ``[web] base_url`` is https.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, abort, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from monitor.config import Settings
from monitor.web import sessions
from monitor.web.queries import OUTCOMES, STATUSES, ensure_indexes
from monitor.web.users import ROLES, Lockout, has_role, token_user

PUBLIC_ENDPOINTS = {"auth.signin", "static"}
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Format characters (bidi overrides, zero-width) can reorder or hide what is shown; C0/C1
# controls have no business in a page. Newlines and tabs are kept for snippets.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Every format character lies in planes 0, 1 and 14; scanning only those keeps start-up quick.
_FORMAT = dict.fromkeys(
    i for i in (*range(0x20000), *range(0xE0000, 0xE1000)) if unicodedata.category(chr(i)) == "Cf"
)


@dataclass(frozen=True)
class Web:
    """What the views share: the settings, the database and the derived policies."""

    settings: Settings
    engine: Engine
    zone: ZoneInfo
    lockout: Lockout
    session_lifetime: timedelta

    @property
    def base_url(self) -> str:
        return self.settings.web.base_url


def web() -> Web:
    return current_app.extensions["outreach_monitor"]  # type: ignore[no-any-return]


def db() -> Session:
    """The request's read session (writes use ``session_scope``)."""
    if "db" not in g:
        g.db = Session(web().engine, expire_on_commit=False)
    return g.db  # type: ignore[no-any-return]


def requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse the view (403) to users below ``role``."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.user is None or not has_role(g.user.role, role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def plain(value: Any, limit: int = 0) -> str:
    """Untrusted text made safe to look at (escaping is the template's job): no control or
    format characters, optionally shortened."""
    text = _INVISIBLE.sub(" ", str(value or "")).translate(_FORMAT)
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def create_app(settings: Settings, engine: Engine | None = None) -> Flask:
    """The review log over ``engine`` (by default the database of ``settings``)."""
    if engine is None:
        from monitor.db import make_engine

        engine = make_engine(settings.database_url)
    secure = settings.web.base_url.startswith("https://")
    lifetime = timedelta(hours=settings.web.session_hours)
    ensure_indexes(engine)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=sessions.session_secret(settings),
        SESSION_COOKIE_NAME="__Host-om_session" if secure else "om_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=lifetime,
        # A form open for a while must still submit; the token dies with the session anyway.
        WTF_CSRF_TIME_LIMIT=int(lifetime.total_seconds()),
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["outreach_monitor"] = Web(
        settings=settings,
        engine=engine,
        zone=ZoneInfo(settings.web.timezone),
        lockout=Lockout(settings.web.max_failed_signins, timedelta(minutes=settings.web.lockout_minutes)),
        session_lifetime=lifetime,
    )
    CSRFProtect(app)

    from monitor.web import admin, api, auth, pages

    for blueprint in (auth.blueprint, pages.blueprint, admin.blueprint, api.blueprint):
        app.register_blueprint(blueprint)

    app.before_request(_sign_in_gate)
    app.after_request(_headers)
    app.teardown_appcontext(_close_db)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.jinja_env.filters.update(when=_when, plain=plain, status=_status, outcome=_outcome)
    app.jinja_env.globals.update(has_role=has_role, ROLES=ROLES, STATUSES=STATUSES, OUTCOMES=OUTCOMES,
                                 with_args=_with_args)
    return app


def _sign_in_gate() -> Response | None:
    g.user = None
    api = request.blueprint == "api"
    header = request.headers.get("Authorization", "")
    if api and header[:7].lower() == "bearer ":
        g.user = token_user(db(), header[7:].strip())
    else:
        g.user = sessions.lookup(db(), str(session.get("sid") or ""))
    if g.user is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if api:
        response = jsonify(error="sign in or send 'Authorization: Bearer <token>'")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    if request.endpoint is None:
        return None  # a 404 says nothing about what exists, signed in or not
    target = request.full_path if request.method == "GET" else request.path
    return redirect(url_for("auth.signin", next=target.rstrip("?")))


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if web().settings.web.base_url.startswith("https://"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def _close_db(_exc: BaseException | None) -> None:
    session_ = g.pop("db", None)
    if session_ is not None:
        session_.close()


def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    message = "This form has expired or did not come from this site. Go back, reload the page and try again."
    return render_template("error.html", code=400, title="Form expired", message=message), 400


_TITLES = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 413: "Too large"}


def _http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    if request.blueprint == "api":
        response = jsonify(error=exc.description or exc.name)
        response.status_code = code
        return response
    if code == 403:
        message = "Your role does not allow this. An admin can change roles on the Users page."
    else:
        message = exc.description or ""
    return render_template("error.html", code=code, title=_TITLES.get(code, exc.name), message=message), code


def _when(moment: datetime | None, seconds: bool = False) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(web().zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _status(value: str) -> str:
    return STATUSES.get(value, value)


def _outcome(value: str) -> str:
    return OUTCOMES.get(value, value)


def _with_args(**changes: Any) -> str:
    """The current query string with some arguments changed (None or "" removes one)."""
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: str(v) for k, v in changes.items() if v not in (None, "")})
    return "?" + urlencode(args) if args else "?"
