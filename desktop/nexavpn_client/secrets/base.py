"""The secret store interface and the names of the secrets the client keeps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum


class SecretKey(StrEnum):
    """Every secret the client keeps; small values only (Windows caps a secret at ~2.5 KB)."""

    SERVER_URL = "server_url"
    PINNED_FINGERPRINT = "pinned_fingerprint"
    ACCESS_TOKEN = "access_token"
    REFRESH_TOKEN = "refresh_token"
    DEVICE_PRIVATE_KEY = "device_private_key"
    PROFILE_KEY = "profile_key"
    MACHINE_ID = "machine_id_fallback"


class SecretStore(ABC):
    """Keeps small secrets by name; ``get`` of a missing name is None, ``delete`` is idempotent."""

    @abstractmethod
    def get(self, key: str) -> str | None:
        """The stored value, or None."""

    @abstractmethod
    def set(self, key: str, value: str) -> None:
        """Store (or replace) a value."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove a value; removing a missing one is fine."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
