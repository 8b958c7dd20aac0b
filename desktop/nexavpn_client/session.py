"""The signed-in session: tokens in the keyring, automatic refresh, back to login when it fails.

Refresh tokens rotate and a spent one revokes its whole family on the server, so refreshes are
serialised with a lock and a caller whose token was already replaced by another thread simply
retries with the new one instead of refreshing again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from . import errors
from .api import ApiClient
from .secrets.base import SecretKey, SecretStore

log = logging.getLogger(__name__)

T = TypeVar("T")
# Refresh a little before the server would say the access token expired.
EXPIRY_MARGIN = 30.0


class TokenSession:
    """Runs authenticated calls with the stored access token, refreshing it when needed."""

    def __init__(
        self,
        api: ApiClient,
        secrets_store: SecretStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.secrets = secrets_store
        self.clock = clock
        self._lock = threading.Lock()
        self._expires_at: float | None = None

    # -------------------------------------------------------------- tokens

    @property
    def logged_in(self) -> bool:
        """True when a refresh token is stored (the access token may be stale)."""
        return bool(self.secrets.get(SecretKey.REFRESH_TOKEN))

    def store(self, data: dict[str, Any]) -> None:
        """Keep the tokens of a login or refresh answer."""
        self.secrets.set(SecretKey.ACCESS_TOKEN, str(data["access_token"]))
        if data.get("refresh_token"):
            self.secrets.set(SecretKey.REFRESH_TOKEN, str(data["refresh_token"]))
        expires_in = data.get("expires_in")
        if isinstance(expires_in, int | float) and expires_in > 0:
            self._expires_at = self.clock() + float(expires_in)
        else:
            self._expires_at = None

    def clear(self) -> None:
        """Forget both tokens locally."""
        self.secrets.delete(SecretKey.ACCESS_TOKEN)
        self.secrets.delete(SecretKey.REFRESH_TOKEN)
        self._expires_at = None

    def _access(self) -> str:
        token = self.secrets.get(SecretKey.ACCESS_TOKEN)
        if not token:
            if self.secrets.get(SecretKey.REFRESH_TOKEN):
                return self.refresh(stale=None)
            raise errors.NotLoggedIn()
        return token

    def refresh(self, stale: str | None) -> str:
        """Get a new access token; ``stale`` is the one that failed (skip if already replaced).

        A refused refresh ends the session locally and raises :class:`SessionExpired`.
        """
        with self._lock:
            current = self.secrets.get(SecretKey.ACCESS_TOKEN)
            if stale is not None and current and current != stale:
                return current  # another thread refreshed meanwhile
            refresh_token = self.secrets.get(SecretKey.REFRESH_TOKEN)
            if not refresh_token:
                raise errors.NotLoggedIn()
            try:
                data = self.api.refresh(refresh_token)
            except (errors.SessionExpired, errors.InvalidCredentials, errors.UserDisabled,
                    errors.PermissionDenied) as exc:
                log.info("token refresh refused (%s); the user must sign in again", exc.code)
                self.clear()
                raise errors.SessionExpired(code=exc.code, status=exc.status) from None
            self.store(data)
            log.debug("access token refreshed")
            return str(data["access_token"])

    # -------------------------------------------------------------- calls

    def call(self, fn: Callable[[str], T]) -> T:
        """Run ``fn(access_token)``; on 401 refresh once and retry."""
        token = self._access()
        if self._expires_at is not None and self.clock() >= self._expires_at - EXPIRY_MARGIN:
            token = self.refresh(stale=token)
        try:
            return fn(token)
        except errors.SessionExpired:
            token = self.refresh(stale=token)
        return fn(token)
