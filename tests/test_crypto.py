"""Token-cache encryption: key from the environment or a 0600 key file, clear errors for a lost,
wrong or malformed key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from monitor.config import DatabaseSettings, IdentitySettings, Settings
from monitor.crypto import TokenVault, key_path
from monitor.errors import ConfigError, ReconnectNeeded

CACHE = '{"RefreshToken": {"x": {"secret": "rt-very-secret"}}}'


def settings_in(tmp_path: Path, key_file: str = "token.key") -> Settings:
    return Settings(
        database=DatabaseSettings(data_dir=str(tmp_path / "data")),
        identity=IdentitySettings(key_file=key_file),
    )


def test_round_trip_with_key_from_environment(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    env = {"OUTREACH_MONITOR_KEY": Fernet.generate_key().decode()}
    blob = TokenVault.from_settings(settings, create=True, environ=env).encrypt(CACHE)
    assert b"rt-very-secret" not in blob
    assert TokenVault.from_settings(settings, environ=env).decrypt(blob, tenant="Contoso") == CACHE
    assert not key_path(settings).exists()  # the environment's key is used, no file written


def test_key_file_is_created_0600_on_first_encryption_and_reused(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    blob = TokenVault.from_settings(settings, create=True, environ={}).encrypt(CACHE)
    path = key_path(settings)
    assert path == tmp_path / "data" / "token.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A later process (same file) decrypts; creating again keeps the existing key.
    assert (
        TokenVault.from_settings(settings, create=True, environ={}).decrypt(blob, tenant="Contoso") == CACHE
    )


def test_lost_key_file_means_reconnect_and_no_new_key_is_made(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    blob = TokenVault.from_settings(settings, create=True, environ={}).encrypt(CACHE)
    key_path(settings).unlink()
    with pytest.raises(ReconnectNeeded) as caught:
        TokenVault.from_settings(settings, environ={}).decrypt(blob, tenant="Contoso Dental")
    message = str(caught.value)
    assert "OUTREACH_MONITOR_KEY" in message and str(key_path(settings)) in message
    assert "outreach-monitor connect --tenant 'Contoso Dental'" in message
    assert not key_path(settings).exists()


def test_wrong_key_names_the_way_out(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    blob = TokenVault.from_settings(
        settings, environ={"OUTREACH_MONITOR_KEY": Fernet.generate_key().decode()}
    ).encrypt(CACHE)
    other = TokenVault.from_settings(
        settings, environ={"OUTREACH_MONITOR_KEY": Fernet.generate_key().decode()}
    )
    with pytest.raises(ReconnectNeeded) as caught:
        other.decrypt(blob, tenant="Contoso Dental")
    assert str(caught.value) == (
        "tenant 'Contoso Dental': token cache cannot be decrypted with this key: "
        "reconnect with `outreach-monitor connect --tenant 'Contoso Dental'`"
    )


def test_damaged_blob_is_a_reconnect_not_a_crash(tmp_path: Path) -> None:
    env = {"OUTREACH_MONITOR_KEY": Fernet.generate_key().decode()}
    vault = TokenVault.from_settings(settings_in(tmp_path), environ=env)
    blob = bytearray(vault.encrypt(CACHE))
    blob[40] ^= 0x01
    for damaged in (bytes(blob), b"", b"not a fernet token at all"):
        with pytest.raises(ReconnectNeeded, match="cannot be decrypted"):
            vault.decrypt(damaged, tenant="Contoso")


def test_malformed_key_is_a_config_error_that_never_echoes_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        TokenVault.from_settings(settings_in(tmp_path), environ={"OUTREACH_MONITOR_KEY": "hunter2-not-a-key"})
    assert "OUTREACH_MONITOR_KEY is not a valid key" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_several_keys_rotate_first_encrypts_any_decrypts(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    blob = TokenVault.from_settings(settings, environ={"OUTREACH_MONITOR_KEY": old}).encrypt(CACHE)
    rotated = TokenVault.from_settings(settings, environ={"OUTREACH_MONITOR_KEY": f"{new},{old}"})
    assert rotated.decrypt(blob, tenant="Contoso") == CACHE
    fresh = rotated.encrypt(CACHE)
    assert (
        TokenVault.from_settings(settings, environ={"OUTREACH_MONITOR_KEY": new}).decrypt(fresh, tenant="C")
        == CACHE
    )
