"""Constants of the API contract (docs/api.md) so every component spells them alike."""

from __future__ import annotations

API_PREFIX = "/api/v1"
API_VERSION = "v1"

# Error codes: the stable machine-readable ``error.code`` of every error envelope.
INVALID_CREDENTIALS = "invalid_credentials"
USER_DISABLED = "user_disabled"
VALIDATION_ERROR = "validation_error"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
PAYLOAD_TOO_LARGE = "payload_too_large"
RATE_LIMITED = "rate_limited"
UNAUTHORIZED = "unauthorized"
TOKEN_REVOKED = "token_revoked"
TOKEN_EXPIRED = "token_expired"
FORBIDDEN = "forbidden"
CONFLICT = "conflict"
INVALID_PUBLIC_KEY = "invalid_public_key"
PUBLIC_KEY_IN_USE = "public_key_in_use"
IP_POOL_EXHAUSTED = "ip_pool_exhausted"
DEVICE_LIMIT_REACHED = "device_limit_reached"
NO_ACTIVE_GATEWAY = "no_active_gateway"
DEVICE_REVOKED = "device_revoked"
GATEWAY_IN_USE = "gateway_in_use"
PUBLIC_KEY_REVOKED = "public_key_revoked"
SESSION_BOUND_TO_DEVICE = "session_bound_to_device"
INTERNAL_ERROR = "internal_error"
GONE = "gone"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
SERVICE_UNAVAILABLE = "service_unavailable"
# API v1.1
SESSION_BOUND_TO_DEVICE = "session_bound_to_device"
PUBLIC_KEY_REVOKED = "public_key_revoked"
INVALID_GRANT = "invalid_grant"
DATABASE_UNAVAILABLE = "database_unavailable"
CSRF_FAILED = "csrf_failed"
IDENTITY_PROVIDER_UNAVAILABLE = "identity_provider_unavailable"
INVALID_CODE = "invalid_code"
INVALID_STATE = "invalid_state"
MFA_SETUP_REQUIRED = "mfa_setup_required"
MFA_TOKEN_EXPIRED = "mfa_token_expired"
SERVER_BUSY = "server_busy"
SESSION_EXPIRED = "session_expired"

# The HTTP status each error code is sent with (docs/api.md, "Errors"). The API raises codes with
# these statuses (tests/backend/test_error_codes.py checks every raise site) and documents them.
ERROR_STATUS: dict[str, int] = {
    INVALID_CREDENTIALS: 401,
    USER_DISABLED: 403,
    VALIDATION_ERROR: 400,
    NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    PAYLOAD_TOO_LARGE: 413,
    RATE_LIMITED: 429,
    UNAUTHORIZED: 401,
    TOKEN_REVOKED: 401,
    TOKEN_EXPIRED: 401,
    FORBIDDEN: 403,
    CONFLICT: 409,
    INVALID_PUBLIC_KEY: 400,
    PUBLIC_KEY_IN_USE: 409,
    IP_POOL_EXHAUSTED: 409,
    DEVICE_LIMIT_REACHED: 403,
    NO_ACTIVE_GATEWAY: 503,
    DEVICE_REVOKED: 410,
    GATEWAY_IN_USE: 409,
    PUBLIC_KEY_REVOKED: 409,
    SESSION_BOUND_TO_DEVICE: 403,
    INTERNAL_ERROR: 500,
    GONE: 410,
    UNSUPPORTED_MEDIA_TYPE: 415,
    SERVICE_UNAVAILABLE: 503,
    INVALID_GRANT: 400,
    DATABASE_UNAVAILABLE: 503,
    CSRF_FAILED: 403,
    IDENTITY_PROVIDER_UNAVAILABLE: 503,
    INVALID_CODE: 401,
    INVALID_STATE: 400,
    MFA_SETUP_REQUIRED: 403,
    MFA_TOKEN_EXPIRED: 401,
    SERVER_BUSY: 503,
    SESSION_EXPIRED: 401,
}

# Every error code (the keys of ERROR_STATUS: a code cannot exist without its status).
ERROR_CODES: frozenset[str] = frozenset(ERROR_STATUS)

PLATFORMS: tuple[str, ...] = ("windows", "macos", "linux")
DEVICE_STATUSES: tuple[str, ...] = ("active", "pending", "revoked")
DEVICE_STATUS_ACTIVE = "active"
DEVICE_STATUS_PENDING = "pending"
DEVICE_STATUS_REVOKED = "revoked"
ROLES: tuple[str, ...] = ("admin", "user")
ROLE_ADMIN = "admin"
ROLE_USER = "user"
GATEWAY_STATUSES: tuple[str, ...] = ("online", "offline")

PERSISTENT_KEEPALIVE = 25
DEFAULT_MTU = 1420
DEFAULT_LISTEN_PORT = 51820
