"""Devices (WireGuard peers) and the address leases that keep two devices off one address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .user import User

# Devices that hold their fingerprint, key and address (active or pending approval).
LIVE_PREDICATE = "status <> 'revoked'"


class Device(db.Model):
    """A user's enrolled device.

    ``status`` is ``active``, ``pending`` (awaiting an admin's approval: it holds its address
    and profile but is on no gateway) or ``revoked``. A revoked device keeps its record for the
    audit trail; the partial unique indexes only cover live (not revoked) devices, so the same
    fingerprint can enroll again as a new device.
    ``resources`` caches the resolved destinations ([{"destination", "policy"}]) so the agent
    config does not re-resolve policies for every peer on every poll.
    """

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    gateway_id: Mapped[int | None] = mapped_column(
        ForeignKey("gateways.id"), index=True, nullable=True
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(128), nullable=False)
    public_key: Mapped[str] = mapped_column(String(44), nullable=False)
    platform: Mapped[str] = mapped_column(String(16), nullable=False)
    os_version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    client_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", index=True)
    vpn_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    vpn_ip6: Mapped[str | None] = mapped_column(String(45), nullable=True)
    profile_revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    rotation_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    resources: Mapped[list[dict]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_handshake_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rx_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tx_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        Index(
            "uq_devices_active_fingerprint",
            "user_id",
            "fingerprint",
            unique=True,
            sqlite_where=text(LIVE_PREDICATE),
            postgresql_where=text(LIVE_PREDICATE),
        ),
        Index(
            "uq_devices_active_public_key",
            "public_key",
            unique=True,
            sqlite_where=text(LIVE_PREDICATE),
            postgresql_where=text(LIVE_PREDICATE),
        ),
    )

    def __repr__(self) -> str:
        return f"<Device {self.id} user={self.user_id} {self.status}>"


class IpLease(db.Model):
    """An address taken in a gateway's pool, by host offset (v4 and v6 share the offset).

    The primary key makes a double allocation impossible even under concurrent enrollments;
    deleting the lease (revoke/delete) returns the address to the pool at once.
    """

    __tablename__ = "ip_leases"

    gateway_id: Mapped[int] = mapped_column(
        ForeignKey("gateways.id", ondelete="CASCADE"), primary_key=True
    )
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), unique=True, nullable=False
    )


class RevokedPublicKey(db.Model):
    """A public key that may never be enrolled again, by anyone.

    Filled when a device is revoked or deleted; it outlives the device row (no foreign key),
    so deleting a lost laptop's record does not let its key come back.
    """

    __tablename__ = "revoked_public_keys"

    public_key: Mapped[str] = mapped_column(String(44), primary_key=True)
    device_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
