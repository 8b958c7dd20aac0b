"""The operator's identity providers: configuration, discovery and signing keys (cached), and
every HTTP call to a provider (each with a timeout; unreachable → 503).

Discovery documents are kept for an hour; the JWKS until an ID token names a key id it does
not hold, which is how providers rotate keys. (ID tokens reach us only from the provider's own
token endpoint, never from the browser, so an outsider cannot make us fetch keys at will.)
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from joserfc.jwk import KeySet

from ..errors import ApiError, not_found

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
DISCOVERY_TTL = 3600.0


@dataclass(frozen=True)
class Provider:
    """One configured OpenID provider."""

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    groups_claim: str | None = None
    admin_group: str | None = None


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse(entry: Any, seen: set[str]) -> Provider:
    if not isinstance(entry, dict):
        raise RuntimeError("each identity provider must be a JSON object")
    known = {
        "id",
        "name",
        "issuer",
        "client_id",
        "client_secret",
        "scopes",
        "groups_claim",
        "admin_group",
    }
    unknown = sorted(set(entry) - known)
    if unknown:
        raise RuntimeError(f"identity provider: unknown fields {', '.join(unknown)}")
    pid = entry.get("id")
    if not isinstance(pid, str) or not ID_RE.match(pid) or pid in seen:
        raise RuntimeError(f"identity provider id {pid!r}: 1-32 characters of a-z 0-9 _ -, unique")
    for key in ("name", "issuer", "client_id", "client_secret"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise RuntimeError(f"identity provider {pid}: {key} is required")
    issuer = entry["issuer"].rstrip("/")
    parts = urlsplit(issuer)
    if not (
        parts.scheme == "https"
        or (parts.scheme == "http" and _is_loopback_host(parts.hostname or ""))
    ):
        raise RuntimeError(f"identity provider {pid}: the issuer must be an https:// URL")
    scopes = entry.get("scopes") or ["openid", "profile", "email"]
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise RuntimeError(f"identity provider {pid}: scopes must be a list of strings")
    if "openid" not in scopes:
        scopes = ["openid", *scopes]
    for key in ("groups_claim", "admin_group"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise RuntimeError(f"identity provider {pid}: {key} must be a string")
    seen.add(pid)
    return Provider(
        id=pid,
        name=entry["name"].strip()[:64],
        issuer=entry["issuer"],
        client_id=entry["client_id"],
        client_secret=entry["client_secret"],
        scopes=tuple(scopes),
        groups_claim=entry.get("groups_claim") or None,
        admin_group=entry.get("admin_group") or None,
    )


def configured() -> list[Provider]:
    """Every configured provider (the app config is checked once, then kept)."""
    cfg = current_app.config
    cached = current_app.extensions.get("nexavpn_oidc_providers")
    if cached is None:
        seen: set[str] = set()
        cached = [_parse(e, seen) for e in cfg.get("NEXAVPN_OIDC_PROVIDERS") or []]
        current_app.extensions["nexavpn_oidc_providers"] = cached
    return cached


def get(provider_id: str) -> Provider:
    """A provider by id, or 404."""
    for provider in configured():
        if provider.id == provider_id:
            return provider
    raise not_found("Identity provider")


def unavailable(provider: Provider, what: str) -> ApiError:
    """The 503 of a provider that did not answer (or answered nonsense)."""
    return ApiError(
        503,
        "identity_provider_unavailable",
        f"The identity provider {provider.name} is not reachable; try again later.",
        {"provider": provider.id, "step": what},
    )


def timeout() -> float:
    """Seconds any single call to a provider may take."""
    return float(current_app.config.get("NEXAVPN_OIDC_TIMEOUT_SECONDS", 10))


def _get_json(provider: Provider, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
    try:
        resp = requests.get(url, timeout=timeout(), allow_redirects=False, **kwargs)
        resp.raise_for_status()
        data = resp.json()
    except (requests.RequestException, ValueError):
        raise unavailable(provider, what) from None
    if not isinstance(data, dict):
        raise unavailable(provider, what)
    return data


class _Cache:
    """Per-process discovery and key cache, keyed by issuer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.discovery: dict[str, tuple[float, dict[str, Any]]] = {}
        self.jwks: dict[str, tuple[float, KeySet]] = {}

    def clear(self) -> None:
        with self.lock:
            self.discovery.clear()
            self.jwks.clear()


CACHE = _Cache()


def metadata(provider: Provider) -> dict[str, Any]:
    """The provider's discovery document (cached for an hour)."""
    now = time.monotonic()
    with CACHE.lock:
        hit = CACHE.discovery.get(provider.issuer)
    if hit and now - hit[0] < DISCOVERY_TTL:
        return hit[1]
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    doc = _get_json(provider, url, "discovery")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(key), str):
            raise unavailable(provider, "discovery")
    with CACHE.lock:
        CACHE.discovery[provider.issuer] = (now, doc)
    return doc


def keys(provider: Provider, *, want_kid: str | None = None) -> KeySet:
    """The provider's signing keys; fetched again when ``want_kid`` is not among them."""
    now = time.monotonic()
    with CACHE.lock:
        hit = CACHE.jwks.get(provider.issuer)
    if hit is not None:
        keyset = hit[1]
        if want_kid is None or any(k.kid == want_kid for k in keyset.keys):
            return keyset
    data = _get_json(provider, metadata(provider)["jwks_uri"], "jwks")
    try:
        keyset = KeySet.import_key_set(data)  # type: ignore[arg-type]
    except Exception:
        raise unavailable(provider, "jwks") from None
    with CACHE.lock:
        CACHE.jwks[provider.issuer] = (now, keyset)
    return keyset


def userinfo(provider: Provider, access_token: str) -> dict[str, Any]:
    """Claims from the UserInfo endpoint ({} when the provider has none)."""
    url = metadata(provider).get("userinfo_endpoint")
    if not isinstance(url, str) or not access_token:
        return {}
    return _get_json(provider, url, "userinfo", headers={"Authorization": f"Bearer {access_token}"})
