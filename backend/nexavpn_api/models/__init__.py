"""All models, imported here so Alembic and the app see the whole schema."""

from .audit import AuditEvent
from .device import Device, IpLease, RevokedPublicKey
from .gateway import Gateway
from .identity import OidcGrant, RecoveryCode, UserIdentity
from .policy import Policy, PolicyGroup, PolicyUser
from .throttle import LoginThrottle
from .token import TokenFamily
from .user import User, UserGroup

__all__ = [
    "AuditEvent",
    "Device",
    "Gateway",
    "IpLease",
    "LoginThrottle",
    "OidcGrant",
    "Policy",
    "PolicyGroup",
    "PolicyUser",
    "RecoveryCode",
    "RevokedPublicKey",
    "TokenFamily",
    "User",
    "UserGroup",
    "UserIdentity",
]
