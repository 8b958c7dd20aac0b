"""The saved client state as a typed object instead of a dict of string keys.

The state file (encrypted JSON, :class:`~nexavpn_client.storage.StateStore`) keeps who signed
in, this computer's device record and profile, and a few flags. The code used to read it as
``state.get("revoked")`` and friends, where a typo is a silent ``None``; :class:`SavedState`
names every key once. The file format does not change: :meth:`SavedState.from_dict` reads
what every earlier version wrote (a value of the wrong type reads as absent, as the dict code
treated it) and :meth:`SavedState.to_dict` writes the same keys, so existing installations keep
working and an older version can still read a file this one wrote. Keys this version does not
know are carried through untouched (:attr:`SavedState.extra`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class SavedState:
    """Everything the client keeps between runs that is not a secret (those are in the keyring).

    ``device``, ``profile`` and ``user`` stay the server's JSON objects (dicts): their fields
    are the API contract's, and the client passes them on rather than interpreting them.
    """

    #: The signed-in user: ``{"id", "username", "role"}``.
    user: dict[str, Any] | None = None
    #: This computer's device record as the server last described it.
    device: dict[str, Any] | None = None
    #: The last VPN profile received (config without the private key, ``revision``, …).
    profile: dict[str, Any] | None = None
    #: The name this computer was registered under (kept for re-registering).
    device_name: str | None = None
    #: The server revoked (or deleted) this device: the profile must not be used.
    revoked: bool = False
    #: The server's key for this device is not this installation's.
    key_mismatch: bool = False
    #: When the profile was last checked with the server (ISO 8601, UTC).
    last_sync_at: str | None = None
    #: Since when the server has been unreachable (ISO 8601), None while it answers.
    offline_since: str | None = None
    #: When this installation brought the tunnel up (epoch seconds), None while it is down.
    connected_at: float | None = None
    #: ``host:port`` the pinned certificate belongs to.
    pinned_for: str | None = None
    #: The administrator's CA file given at sign-in.
    ca_file: str | None = None
    #: This installation's tunnel (interface) name, decided once.
    tunnel_name: str | None = None
    #: Keys of a newer (or older) version this one does not know, written back unchanged.
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedState:
        """Read the state file's JSON object (any version's); odd values read as absent."""
        connected = data.get("connected_at")
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(
            user=_dict_or_none(data.get("user")),
            device=_dict_or_none(data.get("device")),
            profile=_dict_or_none(data.get("profile")),
            device_name=_str_or_none(data.get("device_name")),
            revoked=bool(data.get("revoked")),
            key_mismatch=bool(data.get("key_mismatch")),
            last_sync_at=_str_or_none(data.get("last_sync_at")),
            offline_since=_str_or_none(data.get("offline_since")),
            connected_at=(float(connected) if isinstance(connected, int | float)
                          and not isinstance(connected, bool) else None),
            pinned_for=_str_or_none(data.get("pinned_for")),
            ca_file=_str_or_none(data.get("ca_file")),
            tunnel_name=_str_or_none(data.get("tunnel_name")),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        """The state file's JSON object: the same keys as ever; unset values are left out."""
        data: dict[str, Any] = dict(self.extra)
        values: dict[str, Any] = {
            "user": self.user,
            "device": self.device,
            "profile": self.profile,
            "device_name": self.device_name,
            "revoked": self.revoked or None,
            "key_mismatch": self.key_mismatch or None,
            "last_sync_at": self.last_sync_at,
            "offline_since": self.offline_since,
            "connected_at": self.connected_at,
            "pinned_for": self.pinned_for,
            "ca_file": self.ca_file,
            "tunnel_name": self.tunnel_name,
        }
        data.update({k: v for k, v in values.items() if v is not None})
        return data

    def forget_device(self) -> None:
        """Drop everything about the registered device (a different server, a sign-out)."""
        self.device = self.profile = None
        self.device_name = self.last_sync_at = self.offline_since = None
        self.revoked = self.key_mismatch = False
        self.connected_at = None

    @property
    def device_status(self) -> str | None:
        """The device's approval status as the server gave it (``"pending"``, …), if any."""
        return self.device.get("status") if self.device else None
