"""Helpers for the enrollment/provisioning tests: gateways and policies inserted through the
models (the admin endpoints belong to another component), enrollment bodies with real keys."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from nexavpn_shared.keys import generate_keypair

E = "/api/v1/devices/enroll"


def new_key() -> str:
    """A fresh WireGuard public key (the private half is dropped: tests never need it)."""
    return generate_keypair().public_key


def fingerprint() -> str:
    """A fingerprint shaped like the client's (64 hex characters)."""
    return secrets.token_hex(32)


def enroll_body(**overrides: Any) -> dict[str, Any]:
    """A valid enrollment body with a random fingerprint and key."""
    body: dict[str, Any] = {
        "name": "laptop",
        "fingerprint": fingerprint(),
        "public_key": new_key(),
        "platform": "linux",
        "os_version": "Debian 12",
        "client_version": "0.1.0",
    }
    body.update(overrides)
    return body


def make_gateway(
    app,
    name: str = "gw1",
    *,
    vpn_cidr: str = "10.8.0.0/24",
    vpn_cidr6: str | None = None,
    online: bool = True,
    enabled: bool = True,
    public_key: str | bool | None = True,
    endpoint: str = "vpn.example.com:51820",
    dns: list[str] | None = None,
    mtu: int = 1420,
) -> tuple[int, str]:
    """Insert a gateway; returns (id, agent token). ``public_key=True`` makes a real one."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway
    from nexavpn_api.models._types import utcnow
    from nexavpn_api.security import hash_token

    token = secrets.token_urlsafe(32)
    with app.app_context():
        gw = Gateway(
            name=name,
            endpoint=endpoint,
            public_key=new_key() if public_key is True else (public_key or None),
            vpn_cidr=vpn_cidr,
            vpn_cidr6=vpn_cidr6,
            dns=["10.8.0.1"] if dns is None else dns,
            mtu=mtu,
            enabled=enabled,
            agent_token_hash=hash_token(token),
            last_seen_at=utcnow() if online else utcnow() - timedelta(hours=1),
        )
        db.session.add(gw)
        db.session.commit()
        return gw.id, token


def update_gateway(app, gateway_id: int, **values: Any) -> None:
    """Change gateway columns directly (no provisioning side effects)."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway

    with app.app_context():
        gw = db.session.get(Gateway, gateway_id)
        for k, v in values.items():
            setattr(gw, k, v)
        db.session.commit()


def make_policy(
    app,
    name: str,
    destinations: list[str],
    *,
    user_ids: list[int] | None = None,
    groups: list[str] | None = None,
    enabled: bool = True,
    refresh: bool = True,
) -> int:
    """Insert a policy and (like the policies service does) refresh the users it reaches."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Policy
    from nexavpn_api.services import provisioning

    with app.app_context():
        p = Policy(name=name, destinations=destinations, enabled=enabled)
        p.user_ids = user_ids or []
        p.groups = groups or []
        db.session.add(p)
        db.session.flush()
        if refresh:
            provisioning.refresh_users(provisioning.user_ids_for_policy(p.id))
        db.session.commit()
        return p.id


def gateway_revision(app, gateway_id: int) -> int:
    """The gateway's committed revision."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway

    with app.app_context():
        return db.session.get(Gateway, gateway_id).revision


def device_row(app, device_id: int) -> dict[str, Any]:
    """A device's columns as a dict (straight from the database)."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device

    with app.app_context():
        d = db.session.get(Device, device_id)
        return {c.name: getattr(d, c.name) for c in Device.__table__.columns} if d else {}


def leases(app, gateway_id: int | None = None) -> list[tuple[int, int, int]]:
    """(gateway_id, offset, device_id) of every lease."""
    from sqlalchemy import select

    from nexavpn_api.extensions import db
    from nexavpn_api.models import IpLease

    with app.app_context():
        stmt = select(IpLease.gateway_id, IpLease.offset, IpLease.device_id).order_by(
            IpLease.gateway_id, IpLease.offset
        )
        if gateway_id is not None:
            stmt = stmt.where(IpLease.gateway_id == gateway_id)
        return [tuple(r) for r in db.session.execute(stmt).all()]


def audit_actions(app, target_id: int | None = None) -> list[str]:
    """Audit actions (oldest first), optionally for one device."""
    from sqlalchemy import select

    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        stmt = select(AuditEvent.action).order_by(AuditEvent.id)
        if target_id is not None:
            stmt = stmt.where(
                AuditEvent.target_type == "device", AuditEvent.target_id == str(target_id)
            )
        return list(db.session.execute(stmt).scalars())


def agent_headers(token: str) -> dict[str, str]:
    """The gateway agent's bearer header."""
    return {"Authorization": f"Bearer {token}"}
