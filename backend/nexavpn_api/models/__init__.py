"""All models, imported here so Alembic and the app see the whole schema."""

from .audit import AuditEvent
from .device import Device, IpLease
from .gateway import Gateway
from .identity import OidcGrant, RecoveryCode, UserIdentity
from .policy import Policy, PolicyGroup, PolicyUser
from .token import TokenFamily
from .user import User, UserGroup

__all__ = [
    "AuditEvent",
    "Device",
    "Gateway",
    "IpLease",
    "OidcGrant",
    "Policy",
    "PolicyGroup",
    "PolicyUser",
    "RecoveryCode",
    "TokenFamily",
    "User",
    "UserGroup",
    "UserIdentity",
]
