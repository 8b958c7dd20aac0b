"""Gateways: the hosts that terminate tunnels and enforce policy for their peers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import UTCDateTime, utcnow


class Gateway(db.Model):
    """A gateway and its desired-state revision.

    ``revision`` only grows; every change to the gateway's peer set or interface bumps it,
    which is what the agent's long-poll waits on (a cheap row read works across processes).
    """

    __tablename__ = "gateways"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    endpoint: Mapped[str] = mapped_column(String(300), nullable=False)
    public_key: Mapped[str | None] = mapped_column(String(44), nullable=True)
    vpn_cidr: Mapped[str] = mapped_column(String(43), nullable=False)
    vpn_cidr6: Mapped[str | None] = mapped_column(String(43), nullable=True)
    dns: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    mtu: Mapped[int] = mapped_column(Integer, nullable=False, default=1420)
    listen_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    agent_token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Leases held in this gateway's pools. Kept by database triggers on ip_leases (migration
    # 0002), so every path that adds or removes a lease, cascades included, keeps it exact;
    # the application only reads it (enrollment picks the least loaded gateway without counting).
    lease_count: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default=text("0")
    )
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    def __repr__(self) -> str:
        return f"<Gateway {self.id} {self.name!r}>"
