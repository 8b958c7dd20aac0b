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
            f"The system keyring could not {action} a secret ({type(exc).__name__}). "
            "Make sure it is unlocked."
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
