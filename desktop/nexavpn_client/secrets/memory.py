"""An in-memory secret store for tests and for headless runs that must not touch the keyring."""

from __future__ import annotations

import threading

from .base import SecretStore


class MemoryStore(SecretStore):
    """Secrets in a dict; gone when the process ends."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        """The stored value, or None."""
        with self._lock:
            return self._data.get(str(key))

    def set(self, key: str, value: str) -> None:
        """Store (or replace) a value."""
        if not isinstance(value, str):
            raise TypeError("secrets are strings")
        with self._lock:
            self._data[str(key)] = value

    def delete(self, key: str) -> None:
        """Remove a value; removing a missing one is fine."""
        with self._lock:
            self._data.pop(str(key), None)

    def keys(self) -> list[str]:
        """Names currently stored (tests check that logout empties the store)."""
        with self._lock:
            return sorted(self._data)
