"""Where the client keeps its files: the app-data dir, atomic 0600 writes, the encrypted state.

The profile and device state live in one Fernet-encrypted file whose key sits in the keyring
(Windows Credential Manager caps a secret at ~2.5 KB, so the profile cannot live there). A write
goes to a temporary file in the same directory, is fsynced and then ``os.replace``d over the
old one, so a crash mid-write leaves the previous file intact, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from .errors import ProfileCorrupt, StorageError
from .secrets.base import SecretKey, SecretStore

log = logging.getLogger(__name__)

STATE_DIR_ENV = "NEXAVPN_CLIENT_STATE_DIR"
APP_NAME = "nexavpn"
APP_AUTHOR = "NexaVPN"
STATE_FILE = "state.bin"
PINNED_CERT_FILE = "server-cert.pem"


def default_data_dir() -> Path:
    """``$NEXAVPN_CLIENT_STATE_DIR`` or the platform's per-user app-data directory."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (0700) if needed; an existing dir is tightened to 0700 on POSIX."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.chmod(path, 0o700)
    return path


def atomic_write(path: Path, data: bytes, mode: int = 0o600, *, own_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: tmp (created ``mode``) + fsync + os.replace.

    ``own_dir``: the parent is one of ours and is kept 0700. For a path the user chose
    (``export-config --output``) pass False: missing directories are created 0700, but an
    existing one is never chmodded (a shared /tmp must keep its sticky bit).
    """
    path = Path(path)
    if own_dir:
        ensure_private_dir(path.parent)
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if os.name == "posix":
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def remove_file(path: Path) -> None:
    """Delete a file if it exists."""
    with contextlib.suppress(FileNotFoundError):
        Path(path).unlink()


class StateStore:
    """The encrypted client state (user, device, profile, sync times) in the app-data dir."""

    def __init__(self, data_dir: Path, secrets_store: SecretStore) -> None:
        self.data_dir = Path(data_dir)
        self.secrets = secrets_store

    @property
    def path(self) -> Path:
        """The encrypted state file."""
        return self.data_dir / STATE_FILE

    def _fernet(self, create: bool) -> Fernet | None:
        key = self.secrets.get(SecretKey.PROFILE_KEY)
        if key is None:
            if not create:
                return None
            key = Fernet.generate_key().decode("ascii")
            self.secrets.set(SecretKey.PROFILE_KEY, key)
        try:
            return Fernet(key.encode("ascii"))
        except (ValueError, TypeError):
            raise ProfileCorrupt() from None

    def load(self) -> dict[str, Any]:
        """The saved state, or ``{}`` when there is none; a file we cannot open → ProfileCorrupt."""
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StorageError(f"The saved profile could not be read ({exc.strerror}).") from None
        fernet = self._fernet(create=False)
        if fernet is None:
            raise ProfileCorrupt()
        try:
            data = json.loads(fernet.decrypt(blob))
        except (InvalidToken, ValueError):
            raise ProfileCorrupt() from None
        if not isinstance(data, dict):
            raise ProfileCorrupt()
        return data

    def save(self, state: dict[str, Any]) -> None:
        """Encrypt and write the whole state atomically (0600)."""
        fernet = self._fernet(create=True)
        assert fernet is not None
        blob = fernet.encrypt(json.dumps(state, sort_keys=True).encode("utf-8"))
        try:
            atomic_write(self.path, blob)
        except OSError as exc:
            raise StorageError(f"The profile could not be saved ({exc.strerror}).") from None

    def clear(self) -> None:
        """Delete the state file and its key."""
        remove_file(self.path)
        self.secrets.delete(SecretKey.PROFILE_KEY)
