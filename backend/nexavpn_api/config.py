"""Settings from the environment: one build runs embedded (SQLite) or in production (PostgreSQL)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

ENV_PREFIX = "NEXAVPN_"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{ENV_PREFIX}{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


DEVICE_APPROVAL_MODES = ("off", "required")


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (os.environ.get(ENV_PREFIX + name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise RuntimeError(f"{ENV_PREFIX}{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def data_dir() -> Path:
    """Where the embedded database and generated secrets live (``NEXAVPN_DATA_DIR``)."""
    return Path(os.environ.get(ENV_PREFIX + "DATA_DIR", "var")).resolve()


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (and its directory 0700) unless it exists.

    Used for the embedded SQLite database before SQLite first opens it: the file holds password
    hashes and device records, and SQLite would otherwise create it (and its -wal/-shm files,
    which copy the database file's mode) readable by every local user.
    """
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process won the race: as good
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def sqlite_file(db_url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases, in-memory and URI-style names)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return None
    return Path(name)


def _persistent_secret(name: str, directory: Path) -> str:
    """Generate a secret once and keep it (0600) so restarts do not log everybody out."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def longpoll_capacity() -> int:
    """Waiting long-polls one server process holds (``NEXAVPN_LONGPOLL_CAPACITY``)."""
    return max(1, _env_int("LONGPOLL_CAPACITY", 10000))


def _oidc_providers() -> list[dict[str, Any]]:
    """The identity providers from NEXAVPN_OIDC_PROVIDERS (JSON) or NEXAVPN_OIDC_PROVIDERS_FILE.

    Only parsed here; services.oidc_providers checks each entry when the app starts.
    """
    raw = os.environ.get(ENV_PREFIX + "OIDC_PROVIDERS", "")
    source = ENV_PREFIX + "OIDC_PROVIDERS"
    path = os.environ.get(ENV_PREFIX + "OIDC_PROVIDERS_FILE", "")
    if not raw.strip() and path:
        source = path
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RuntimeError(
                f"cannot read {ENV_PREFIX}OIDC_PROVIDERS_FILE {path}: {exc}"
            ) from exc
    if not raw.strip():
        return []
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise RuntimeError(f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(value, list):
        raise RuntimeError(f"{source} must be a JSON list of providers")
    return value


def _mfa_required() -> str:
    raw = (os.environ.get(ENV_PREFIX + "MFA_REQUIRED") or "off").strip().lower()
    if raw not in {"off", "admins", "all"}:
        raise RuntimeError(f"{ENV_PREFIX}MFA_REQUIRED must be off, admins or all, got {raw!r}")
    return raw


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config: defaults < environment < explicit overrides (tests)."""
    overrides = dict(overrides or {})
    ddir = Path(overrides.pop("DATA_DIR", None) or data_dir())
    db_url = overrides.get("SQLALCHEMY_DATABASE_URI") or os.environ.get(
        ENV_PREFIX + "DATABASE_URL", f"sqlite:///{ddir / 'nexavpn.db'}"
    )
    if db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgres://") :]
    elif db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://") :]

    secret = overrides.get("SECRET_KEY") or os.environ.get(ENV_PREFIX + "SECRET_KEY")
    jwt_secret = overrides.get("JWT_SECRET_KEY") or os.environ.get(ENV_PREFIX + "JWT_SECRET_KEY")
    if not secret:
        secret = _persistent_secret("secret_key", ddir)
    if not jwt_secret:
        jwt_secret = _persistent_secret("jwt_secret_key", ddir)

    cfg: dict[str, Any] = {
        "DATA_DIR": str(ddir),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": secret,
        "JWT_SECRET_KEY": jwt_secret,
        "JWT_ACCESS_TOKEN_EXPIRES": _env_int("ACCESS_TOKEN_SECONDS", 900),
        "JWT_REFRESH_TOKEN_EXPIRES": _env_int("REFRESH_TOKEN_SECONDS", 30 * 24 * 3600),
        "MAX_CONTENT_LENGTH": _env_int("MAX_BODY_BYTES", 1024 * 1024),
        "NEXAVPN_DEVICE_LIMIT": _env_int("DEVICE_LIMIT", 10),
        # "required": new devices wait (status pending, on no gateway) for an admin's approval.
        "NEXAVPN_DEVICE_APPROVAL": _env_choice("DEVICE_APPROVAL", "off", DEVICE_APPROVAL_MODES),
        "NEXAVPN_GATEWAY_ONLINE_SECONDS": _env_int("GATEWAY_ONLINE_SECONDS", 90),
        "NEXAVPN_PEER_ONLINE_SECONDS": _env_int("PEER_ONLINE_SECONDS", 180),
        "NEXAVPN_LOGIN_MAX_FAILURES": _env_int("LOGIN_MAX_FAILURES", 5),
        # 0 = four times the per-(username, address) limit (many users may share a NAT address).
        "NEXAVPN_LOGIN_MAX_FAILURES_PER_IP": _env_int("LOGIN_MAX_FAILURES_PER_IP", 0),
        "NEXAVPN_LOGIN_WINDOW_SECONDS": _env_int("LOGIN_WINDOW_SECONDS", 300),
        # 0 = four times the per-(username, address) limit: the slower backoff of a username.
        "NEXAVPN_LOGIN_MAX_FAILURES_PER_USER": _env_int("LOGIN_MAX_FAILURES_PER_USER", 0),
        # An address that signed in as a user this recently is not locked out by others' guesses.
        "NEXAVPN_LOGIN_KNOWN_CLIENT_DAYS": _env_int("LOGIN_KNOWN_CLIENT_DAYS", 30),
        "NEXAVPN_AUDIT_RETENTION_DAYS": _env_int("AUDIT_RETENTION_DAYS", 365),
        # A refresh session ends this long after sign-in however actively it is refreshed.
        "NEXAVPN_SESSION_MAX_SECONDS": _env_int("SESSION_MAX_SECONDS", 30 * 24 * 3600),
        # CIDRs of reverse proxies whose X-Forwarded-For / X-Real-IP may name the client.
        "NEXAVPN_TRUSTED_PROXIES": os.environ.get(ENV_PREFIX + "TRUSTED_PROXIES", ""),
        "NEXAVPN_LONGPOLL_MAX_SECONDS": _env_int("LONGPOLL_MAX_SECONDS", 60),
        # Waiting long-polls one server process holds; beyond it: 503 + Retry-After at once.
        "NEXAVPN_LONGPOLL_CAPACITY": longpoll_capacity(),
        # Database faults answer 503 database_unavailable within seconds, never hang a request.
        "NEXAVPN_DB_CONNECT_TIMEOUT_SECONDS": _env_int("DB_CONNECT_TIMEOUT_SECONDS", 5),
        "NEXAVPN_DB_STATEMENT_TIMEOUT_SECONDS": _env_int("DB_STATEMENT_TIMEOUT_SECONDS", 10),
        "NEXAVPN_DB_POOL_TIMEOUT_SECONDS": _env_int("DB_POOL_TIMEOUT_SECONDS", 10),
        "NEXAVPN_DB_POOL_SIZE": _env_int("DB_POOL_SIZE", 5),
        "NEXAVPN_DB_MAX_OVERFLOW": _env_int("DB_MAX_OVERFLOW", 5),
        "NEXAVPN_DB_KEEPALIVE_SECONDS": _env_int("DB_KEEPALIVE_SECONDS", 15),
        "NEXAVPN_DB_TCP_USER_TIMEOUT_SECONDS": _env_int("DB_TCP_USER_TIMEOUT_SECONDS", 10),
        "NEXAVPN_DB_DEADLINE_SECONDS": _env_int("DB_DEADLINE_SECONDS", 10),
        "NEXAVPN_TRUST_PROXY": _env_bool("TRUST_PROXY", False),
        "NEXAVPN_METRICS_ENABLED": _env_bool("METRICS_ENABLED", False),
        "NEXAVPN_ADMIN_UI_DIR": os.environ.get(ENV_PREFIX + "ADMIN_UI_DIR", ""),
        # Single sign-on and two-factor (docs/operations.md).
        "NEXAVPN_OIDC_PROVIDERS": _oidc_providers(),
        "NEXAVPN_OIDC_TIMEOUT_SECONDS": _env_int("OIDC_TIMEOUT_SECONDS", 10),
        # How long a single sign-on session may be refreshed before the provider is asked again.
        "NEXAVPN_SSO_SESSION_SECONDS": _env_int("SSO_SESSION_SECONDS", 24 * 3600),
        "NEXAVPN_PUBLIC_URL": os.environ.get(ENV_PREFIX + "PUBLIC_URL", "").rstrip("/"),
        "NEXAVPN_MFA_REQUIRED": _mfa_required(),
        "NEXAVPN_PASSWORD_LOGIN": _env_bool("PASSWORD_LOGIN", True),
    }
    cfg.update(overrides)
    _check_trusted_proxies(str(cfg.get("NEXAVPN_TRUSTED_PROXIES") or ""))
    if "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(cfg)
    return cfg


def postgres_connect_args(cfg: dict[str, Any]) -> dict[str, Any]:
    """libpq settings: connect timeout and TCP keepalives, so a lost database is noticed."""
    keepalive = max(1, int(cfg["NEXAVPN_DB_KEEPALIVE_SECONDS"]))
    args: dict[str, Any] = {
        "connect_timeout": max(1, int(cfg["NEXAVPN_DB_CONNECT_TIMEOUT_SECONDS"])),
        "keepalives": 1,
        "keepalives_idle": keepalive,
        "keepalives_interval": max(1, keepalive // 3),
        "keepalives_count": 3,
    }
    user_timeout = int(cfg["NEXAVPN_DB_TCP_USER_TIMEOUT_SECONDS"])
    if user_timeout > 0:
        args["tcp_user_timeout"] = user_timeout * 1000
    return args


def engine_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options: pool bounds and, on PostgreSQL, timeouts and keepalives."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if not str(cfg["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return options
    connect_args = postgres_connect_args(cfg)
    statement = int(cfg["NEXAVPN_DB_STATEMENT_TIMEOUT_SECONDS"])
    if statement > 0:
        connect_args["options"] = f"-c statement_timeout={statement * 1000}"
    options.update(
        pool_size=max(1, int(cfg["NEXAVPN_DB_POOL_SIZE"])),
        max_overflow=max(0, int(cfg["NEXAVPN_DB_MAX_OVERFLOW"])),
        pool_timeout=max(1, int(cfg["NEXAVPN_DB_POOL_TIMEOUT_SECONDS"])),
        pool_recycle=1800,
        connect_args=connect_args,
    )
    return options


def _check_trusted_proxies(raw: str) -> None:
    """A typo in the proxy list must stop the start, not silently trust nobody (or everybody)."""
    import ipaddress

    for item in raw.replace(",", " ").split():
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise RuntimeError(
                f"{ENV_PREFIX}TRUSTED_PROXIES: not an address or CIDR: {item!r}"
            ) from None
