"""The requests adapter that applies a certificate pin (see ``nexavpn_shared.tls_pin``)."""

from __future__ import annotations

import ssl
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from nexavpn_shared.tls_pin import normalize_fingerprint, pinned_context


class PinnedAdapter(HTTPAdapter):
    """An HTTPAdapter that verifies against one pinned certificate, whatever ``verify`` says."""

    def __init__(self, der: bytes, fingerprint: str, **kwargs: Any) -> None:
        self._context = pinned_context(der)
        self._fingerprint = normalize_fingerprint(fingerprint)
        super().__init__(**kwargs)

    def _tls_kwargs(self) -> dict[str, Any]:
        return {"cert_reqs": "CERT_REQUIRED", "ssl_context": self._context,
                "assert_fingerprint": self._fingerprint}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Bind the pinned TLS settings to the pool manager."""
        kwargs.update(self._tls_kwargs())
        super().init_poolmanager(*args, **kwargs)

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: dict[str, str] | None = None,
        cert: Any = None,
    ) -> Any:
        """Open the pool with the pinned settings; ``verify=False`` is refused."""
        if verify is False:
            raise ssl.SSLError("refusing to switch off certificate verification")
        host_params, _ = self.build_connection_pool_key_attributes(request, True, None)
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=self._tls_kwargs())

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Keep CERT_REQUIRED and the pinned context; never load requests' default bundle."""
        conn.cert_reqs = "CERT_REQUIRED"
