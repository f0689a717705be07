"""Encryption at rest for tenants' token caches (Fernet: AES-128-CBC with an HMAC).

The key comes from ``OUTREACH_MONITOR_KEY`` or, when that is unset, from the key file
``[identity] key_file`` in the data directory, which is created (mode 0600) the first time
something is encrypted. The key is never written to the database, the settings or a log.

``OUTREACH_MONITOR_KEY`` may hold several keys separated by commas to rotate keys: the first
encrypts, any of them decrypts.

Decrypting never creates a key file: a missing or different key must surface as "reconnect
needed", not be papered over by a fresh key that can decrypt nothing.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from monitor.config import ENCRYPTION_KEY_ENV, Settings, secret
from monitor.errors import ConfigError, ReconnectNeeded

GENERATE_HINT = "generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


def reconnect_command(tenant_name: str) -> str:
    """The command that fixes a tenant's sign-in, quoted for a POSIX shell."""
    return f"outreach-monitor connect --tenant {shlex.quote(tenant_name)}"


def key_path(settings: Settings) -> Path:
    path = Path(settings.identity.key_file).expanduser()
    return path if path.is_absolute() else settings.data_dir / path


def _parse_keys(raw: str, source: str) -> list[Fernet]:
    keys = []
    for part in raw.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            keys.append(Fernet(part.encode()))
        except (ValueError, TypeError):
            # Never echo the value: it is a secret, however malformed.
            raise ConfigError(f"{source} is not a valid key (32 url-safe base64-encoded bytes); {GENERATE_HINT}") from None
    if not keys:
        raise ConfigError(f"{source} holds no key; {GENERATE_HINT}")
    return keys


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")


def load_keys(settings: Settings, *, create: bool, environ: dict[str, str] | None = None) -> list[Fernet]:
    """The configured keys, first one current; none when there is no key and not ``create``."""
    from_env = secret(ENCRYPTION_KEY_ENV, environ)
    if from_env:
        return _parse_keys(from_env, ENCRYPTION_KEY_ENV)
    path = key_path(settings)
    if not path.exists():
        if not create:
            return []
        _create_key_file(path)
    try:
        raw = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the key file {path}: {exc.__class__.__name__}") from None
    return _parse_keys(raw, f"the key file {path}")


class TokenVault:
    """Encrypts and decrypts token caches with the configured key(s)."""

    def __init__(self, keys: list[Fernet], *, missing_hint: str = "") -> None:
        self._fernet = MultiFernet(keys) if keys else None
        self._missing_hint = missing_hint or f"set {ENCRYPTION_KEY_ENV}"

    @classmethod
    def from_settings(
        cls, settings: Settings, *, create: bool = False, environ: dict[str, str] | None = None
    ) -> TokenVault:
        """The vault; ``create`` makes the key file if needed (only for encrypting)."""
        hint = f"set {ENCRYPTION_KEY_ENV} or restore the key file {key_path(settings)}"
        return cls(load_keys(settings, create=create, environ=environ), missing_hint=hint)

    @property
    def has_key(self) -> bool:
        return self._fernet is not None

    def encrypt(self, plaintext: str) -> bytes:
        if self._fernet is None:
            raise ConfigError(f"no encryption key: {self._missing_hint}")
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, blob: bytes, *, tenant: str) -> str:
        """The cache text; a wrong key or damaged blob is :class:`ReconnectNeeded` naming the fix."""
        fix = f"reconnect with `{reconnect_command(tenant)}`"
        if self._fernet is None:
            raise ReconnectNeeded(
                f"tenant {tenant!r}: token cache cannot be decrypted: no key ({self._missing_hint}), or {fix}"
            )
        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError, TypeError):
            # Fernet cannot tell a wrong key from a damaged blob; both have the same way out.
            raise ReconnectNeeded(f"tenant {tenant!r}: token cache cannot be decrypted with this key: {fix}") from None
