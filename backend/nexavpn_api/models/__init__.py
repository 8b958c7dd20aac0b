"""All models, imported here so Alembic and the app see the whole schema."""

from .audit import AuditEvent
from .device import Device, IpLease, RevokedPublicKey
from .gateway import Gateway
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
    "Policy",
    "PolicyGroup",
    "PolicyUser",
    "RevokedPublicKey",
    "TokenFamily",
    "User",
    "UserGroup",
]
