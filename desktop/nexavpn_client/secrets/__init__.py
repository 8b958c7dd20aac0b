"""Secret storage: one small interface, a keyring implementation and an in-memory fake."""

from __future__ import annotations

from .base import SecretKey, SecretStore
from .keyring_store import KeyringStore
from .memory import MemoryStore

__all__ = ["KeyringStore", "MemoryStore", "SecretKey", "SecretStore"]
