"""Secrets in the OS keyring: Windows Credential Manager, macOS Keychain, Secret Service.

``keyring`` chooses the platform backend (``PYTHON_KEYRING_BACKEND`` overrides it); a specific
backend object can be passed in, which the tests do for the real Secret Service.
``NEXAVPN_CLIENT_KEYRING_SERVICE`` changes the service name (tests, or two installs side by side).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..errors import StorageError
from .base import SecretStore

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "nexavpn-client"
SERVICE_ENV = "NEXAVPN_CLIENT_KEYRING_SERVICE"


def keyring_failure_reason(exc: BaseException) -> str:
    """The real cause of a keyring failure, in words (locked, no collection, no service)."""
    from keyring.errors import KeyringLocked, NoKeyringError

    text = str(exc)
    cause = exc.__cause__ or exc.__context__
    low = f"{text} {type(cause).__name__ if cause else ''} {cause or ''}".lower()
    if (
        isinstance(exc, NoKeyringError)
        or "no recommended backend" in low
        or "serviceunknown" in low.replace(".", "")
        or "not provided by any .service files" in low
        or "secretservicenotavailable" in low
        or "secret service" in low
        or "org.freedesktop.secrets" in low
        or "dbus" in low
    ):
        return (
            "no keyring service is running on this computer (no Secret Service on the session "
            "bus). Install and start one (gnome-keyring or KWallet), or choose a backend with "
            "PYTHON_KEYRING_BACKEND."
        )
    if "prompt dismissed" in low or "create the collection" in low:
        return (
            "there is no default keyring yet and it could not be created (its password prompt "
            "was dismissed or cannot be shown — typical for a new account or a fresh HOME). "
            "Create or unlock a default keyring in your password manager (for example "
            "Passwords and Keys), then try again."
        )
    if isinstance(exc, KeyringLocked) or "unlock" in low or "locked" in low:
        return (
            "the keyring is locked. Unlock it (sign in to your desktop session, or unlock it "
            "in your password manager), then try again."
        )
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class KeyringStore(SecretStore):
    """Each secret is one keyring item: service ``nexavpn-client``, user name = secret name."""

    def __init__(self, service: str | None = None, backend: Any | None = None) -> None:
        self.service = service or os.environ.get(SERVICE_ENV) or DEFAULT_SERVICE
        self._backend = backend

    def _kr(self) -> Any:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    def _fail(self, action: str, exc: Exception) -> StorageError:
        log.warning("keyring %s failed: %s", action, type(exc).__name__)
        return StorageError(
            f"The system keyring could not {action} a secret: {keyring_failure_reason(exc)}"
        )

    def get(self, key: str) -> str | None:
        """The stored value, or None."""
        from keyring.errors import KeyringError

        try:
            return self._kr().get_password(self.service, str(key))
        except (KeyringError, OSError, RuntimeError) as exc:
            raise self._fail("read", exc) from None

    def set(self, key: str, value: str) -> None:
        """Store (or replace) a value."""
        from keyring.errors import KeyringError

        try:
            self._kr().set_password(self.service, str(key), value)
        except (KeyringError, OSError, RuntimeError) as exc:
            raise self._fail("store", exc) from None

    def delete(self, key: str) -> None:
        """Remove a value; removing a missing one is fine."""
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            self._kr().delete_password(self.service, str(key))
        except PasswordDeleteError:
            return
        except (KeyringError, OSError, RuntimeError) as exc:
            raise self._fail("delete", exc) from None

    def describe(self) -> str:
        """The keyring backend in use (for status output)."""
        kr = self._kr()
        return f"{type(kr).__module__}.{type(kr).__name__}"

    def __repr__(self) -> str:
        return f"KeyringStore(service={self.service!r})"
