"""Settings: one typed, frozen object read once at start.

Sources, later ones winning: ``settings.toml`` at the project root (the documented defaults),
or the file named by ``--config`` / ``OUTREACH_MONITOR_CONFIG``; then single keys from
``OUTREACH_MONITOR__<SECTION>__<KEY>`` environment variables. Unknown keys and bad values
raise :class:`~monitor.errors.ConfigError` naming the key, so a typo never silently falls
back to a default. Secrets are never settings: they are read from the environment by the
code that needs them (see :func:`secret`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.errors import ConfigError

ENV_CONFIG = "OUTREACH_MONITOR_CONFIG"
ENV_PREFIX = "OUTREACH_MONITOR__"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_ROOT / "settings.toml"

Label = Literal[
    "vendor_outreach", "vendor_marketing", "vendor_service", "impersonation", "competitor_outreach", "other"
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(value: str, *, https_only: bool = False) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https",) + (() if https_only else ("http",)) or not parts.netloc:
        need = "an https:// URL" if https_only else "an http(s):// URL"
        raise ValueError(f"must be {need}, got {value!r}")
    return value


class MspSettings(_Section):
    name: str = "Your MSP"
    domains: list[str] = []

    @field_validator("domains")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in v if d.strip()]


class DatabaseSettings(_Section):
    url: str = "sqlite:///outreach-monitor.db"
    data_dir: str = "var"


class IdentitySettings(_Section):
    authority_host: str = "https://login.microsoftonline.com"
    client_id: str = ""
    key_file: str = "token.key"
    # Extra CA certificates (PEM) to trust for the authority, e.g. a TLS-inspecting proxy
    # or the sandbox's own certificate; "" uses the system's.
    ca_bundle: str = ""

    @field_validator("authority_host")
    @classmethod
    def _https(cls, v: str) -> str:
        # msal refuses anything but https, so say so at start rather than at first sign-in.
        return _check_url(v, https_only=True).rstrip("/")


class GraphSettings(_Section):
    endpoint: str = "https://graph.microsoft.com/v1.0"
    folders: list[str] = Field(default_factory=lambda: ["inbox"], min_length=1)
    lookback_days: int = Field(14, ge=1, le=3650)
    page_size: int = Field(50, ge=1, le=1000)
    max_concurrency: int = Field(16, ge=1, le=256)
    timeout_seconds: float = Field(30, gt=0, le=600)

    @field_validator("endpoint")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v).rstrip("/")


class WorkerSettings(_Section):
    poll_interval_seconds: float = Field(60, ge=1)
    poll_jitter_seconds: float = Field(10, ge=0)
    pool_size: int = Field(8, ge=1, le=512)
    lease_seconds: float = Field(300, ge=5)
    retention_days: int = Field(365, ge=1)
    # How often the dispatcher looks for due mailboxes (adds at most this much to alert latency).
    dispatch_interval_seconds: float = Field(5, ge=0.1, le=300)
    # Mailboxes scanned together by one pool thread (so a Graph $batch spans mailboxes).
    batch_size: int = Field(100, ge=1, le=5000)
    # Safety net for outbox delivery and retries; new alerts are flushed as soon as they are queued.
    flush_interval_seconds: float = Field(10, ge=0.1, le=3600)
    # Every active tenant's sign-in is refreshed this often, so a lapse is noticed without mail.
    token_check_minutes: float = Field(30, ge=0.05, le=24 * 60)
    # On SIGTERM/SIGINT, scans in flight get this long to finish before their leases are released.
    stop_grace_seconds: float = Field(5, ge=0, le=600)


class DetectionSettings(_Section):
    alert_labels: list[Label] = ["vendor_outreach", "impersonation"]
    keep_labels: list[Label] = ["vendor_outreach", "impersonation", "competitor_outreach"]
    min_score: float = Field(0.5, ge=0, le=1)
    allow_senders: list[str] = []


class SlackSettings(_Section):
    api_url: str = "https://slack.com/api/"
    default_channel: str = ""
    security_channel: str = ""
    health_channel: str = ""
    group_window_seconds: float = Field(120, ge=0, le=3600)

    @field_validator("api_url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = _check_url(v)
        return v if v.endswith("/") else v + "/"


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    base_url: str = "http://127.0.0.1:8080"
    # The review log (monitor/web). The session secret itself is never a setting: it comes from
    # OUTREACH_MONITOR_WEB_SECRET or this file (relative to data_dir, created 0600 on first use).
    secret_file: str = "web-secret.key"
    session_hours: float = Field(12, gt=0, le=24 * 30)
    max_failed_signins: int = Field(5, ge=1, le=100)
    lockout_minutes: float = Field(15, gt=0, le=24 * 60)
    page_size: int = Field(50, ge=10, le=500)
    timezone: str = "UTC"
    slack_workspace_url: str = ""

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v).rstrip("/")

    @field_validator("slack_workspace_url")
    @classmethod
    def _workspace(cls, v: str) -> str:
        return _check_url(v, https_only=True).rstrip("/") if v else v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except (ValueError, KeyError, OSError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as 'Europe/Berlin')") from None
        return v


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class VendorSettings(_Section):
    """A vendor an MSP adds to the built-in catalog."""

    name: str = Field(min_length=1)
    domains: list[str] = Field(min_length=1)
    marketing_domains: list[str] = []
    service_domains: list[str] = []
    agency_domains: list[str] = []
    products: list[str] = []


class Settings(_Section):
    msp: MspSettings = MspSettings()
    database: DatabaseSettings = DatabaseSettings()
    identity: IdentitySettings = IdentitySettings()
    graph: GraphSettings = GraphSettings()
    worker: WorkerSettings = WorkerSettings()
    detection: DetectionSettings = DetectionSettings()
    slack: SlackSettings = SlackSettings()
    web: WebSettings = WebSettings()
    logging: LoggingSettings = LoggingSettings()
    vendors: list[VendorSettings] = []
    source: str = Field("", exclude=True)

    @property
    def data_dir(self) -> Path:
        """Where state lives; relative paths are relative to the working directory."""
        return Path(self.database.data_dir).expanduser().resolve()

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path placed in the data directory."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
            return prefix + str(self.data_dir / url[len(prefix):])
        return url


def _parse_env_value(raw: str) -> Any:
    """Environment values are TOML literals when they parse (numbers, lists, booleans), else text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        if len(path) != 2 or not all(path):
            raise ConfigError(f"{name}: expected {ENV_PREFIX}<SECTION>__<KEY>, e.g. {ENV_PREFIX}GRAPH__ENDPOINT")
        section, key = path
        known = Settings.model_fields.get(section)
        if known is None or section in ("vendors", "source"):
            raise ConfigError(f"{name}: unknown settings section [{section}]")
        section_model = known.annotation
        if key not in section_model.model_fields:  # type: ignore[union-attr]
            raise ConfigError(f"{name}: unknown key '{key}' in [{section}]")
        data.setdefault(section, {})[key] = _parse_env_value(raw)


def _describe(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error["loc"]]
    if loc and loc[0] == "vendors" and len(loc) > 1:
        where = f"[[vendors]] #{int(loc[1]) + 1}" + (f" {'.'.join(loc[2:])}" if len(loc) > 2 else "")
    elif len(loc) >= 2:
        where = f"[{loc[0]}] {'.'.join(loc[1:])}"
    else:
        where = loc[0] if loc else "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}"


def load_settings(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read, merge and validate the settings. Raises ConfigError with the offending key named."""
    environ = dict(os.environ if environ is None else environ)
    chosen = Path(path) if path else Path(environ[ENV_CONFIG]) if environ.get(ENV_CONFIG) else DEFAULT_PATH
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"settings file not found: {chosen}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {chosen}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    _apply_env(data, environ)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{chosen}: {problems}") from None
    return settings.model_copy(update={"source": str(chosen)})


def secret(name: str, environ: dict[str, str] | None = None) -> str | None:
    """A secret from the environment (never from settings.toml), or None when unset or empty."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or None


SLACK_TOKEN_ENV = "OUTREACH_MONITOR_SLACK_TOKEN"
CLIENT_SECRET_ENV = "OUTREACH_MONITOR_CLIENT_SECRET"
ENCRYPTION_KEY_ENV = "OUTREACH_MONITOR_KEY"
WEB_SECRET_ENV = "OUTREACH_MONITOR_WEB_SECRET"
