"""Lost-device safety: sessions bound to the device they enrolled, revoked keys refused forever,
and device approval (pending devices stay off the gateway until an admin approves them)."""

from __future__ import annotations

import pytest

from tests.backend.provisioning_helpers import (
    E,
    agent_headers,
    audit_actions,
    device_row,
    enroll_body,
    gateway_revision,
    leases,
    make_gateway,
    new_key,
)
from tests.backend.test_lease_count import empty_db_url  # noqa: F401  (fixture)

D = "/api/v1/devices"
REFRESH = "/api/v1/auth/refresh"
CONFIG = "/api/v1/gateway-agent/config"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def laptop(app, client, api):
    """Alice with a browser session and a laptop enrolled by the client's own session."""
    gid, agent = make_gateway(app)
    api.create_user("alice")
    browser = api.login("alice")
    client_session = api.login("alice")
    body = enroll_body(name="laptop")
    r = client.post(E, json=body, headers=_bearer(client_session["access_token"]))
    assert r.status_code == 201, r.get_json()
    return {
        "gid": gid,
        "agent": agent,
        "browser": browser,
        "session": client_session,
        "body": body,
        "device": r.get_json()["device"],
    }


def _reasons(client, session: dict) -> tuple[str | None, str | None]:
    """The ``details.reason`` of the 401s an ended session gets (access call, refresh)."""
    access = client.get(D, headers=_bearer(session["access_token"]))
    refresh = client.post(REFRESH, headers=_bearer(session["refresh_token"]))
    assert access.status_code == refresh.status_code == 401
    return tuple(  # type: ignore[return-value]
        r.get_json()["error"]["details"].get("reason") for r in (access, refresh)
    )


def _live(client, session: dict) -> tuple[int, int]:
    """(status of an access-token call, status of a refresh) for a login answer."""
    access = client.get(D, headers=_bearer(session["access_token"])).status_code
    refresh = client.post(REFRESH, headers=_bearer(session["refresh_token"])).status_code
    return access, refresh


def _session_rows(app) -> dict[str, tuple]:
    from sqlalchemy import select

    from nexavpn_api.extensions import db
    from nexavpn_api.models import TokenFamily

    with app.app_context():
        rows = db.session.execute(
            select(TokenFamily.id, TokenFamily.device_id, TokenFamily.revoked_reason)
        ).all()
        return {r[0]: (r[1], r[2]) for r in rows}


# ------------------------------------------------------------------ device-bound sessions


def test_enrolling_binds_the_session_to_the_device(app, laptop):
    rows = _session_rows(app)
    bound = [fam for fam, (dev, _) in rows.items() if dev == laptop["device"]["id"]]
    assert len(bound) == 1  # the client's session; the browser's stays unbound
    assert sum(dev is None for dev, _ in rows.values()) == 1


@pytest.mark.parametrize("who", ["owner_browser", "admin"])
def test_revoke_ends_the_bound_session_only(app, client, api, laptop, who):
    headers = (
        _bearer(laptop["browser"]["access_token"])
        if who == "owner_browser"
        else api.user_headers("root", role="admin")
    )
    other_laptop = api.login("alice")
    r = client.post(
        E, json=enroll_body(name="desk"), headers=_bearer(other_laptop["access_token"])
    )
    assert r.status_code == 201
    r = client.post(f"{D}/{laptop['device']['id']}/revoke", json={}, headers=headers)
    assert r.status_code == 200, r.get_json()
    access, refresh = _live(client, laptop["session"])
    assert (access, refresh) == (401, 401)
    # The owner's browser and other device keep working (the refresh rotates them).
    assert _live(client, laptop["browser"]) == (200, 200)
    assert _live(client, other_laptop) == (200, 200)
    # What ended is in the audit trail.
    details = _revoke_details(app, laptop["device"]["id"])
    assert details["sessions_ended"] == 1


def _revoke_details(app, device_id: int) -> dict:
    from sqlalchemy import select

    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        return db.session.execute(
            select(AuditEvent.details).where(
                AuditEvent.action == "device.revoke", AuditEvent.target_id == str(device_id)
            )
        ).scalar_one()


def test_the_device_revoking_itself_ends_its_own_session(client, laptop):
    headers = _bearer(laptop["session"]["access_token"])
    r = client.post(f"{D}/{laptop['device']['id']}/revoke", json={}, headers=headers)
    assert r.status_code == 200
    # The client learns why it is signed out.
    assert _reasons(client, laptop["session"]) == ("device_revoked", "device_revoked")
    assert _live(client, laptop["browser"]) == (200, 200)


def test_revoke_sessions_ends_every_session_of_the_owner(app, client, api, laptop):
    admin = api.user_headers("root", role="admin")
    bob = api.user_headers("bob")
    r = client.post(
        f"{D}/{laptop['device']['id']}/revoke", json={"revoke_sessions": True}, headers=admin
    )
    assert r.status_code == 200
    assert _reasons(client, laptop["session"]) == ("device_revoked", "device_revoked")
    assert _reasons(client, laptop["browser"]) == ("admin_ended", "admin_ended")
    assert client.get(D, headers=bob).status_code == 200
    assert client.get(D, headers=admin).status_code == 200
    assert "session.revoke_all" in [a for a in audit_actions(app)]


def test_delete_ends_the_bound_session(client, api, laptop):
    admin = api.user_headers("root", role="admin")
    assert client.delete(f"{D}/{laptop['device']['id']}", headers=admin).status_code == 204
    assert _reasons(client, laptop["session"]) == ("device_deleted", "device_deleted")
    assert _live(client, laptop["browser"]) == (200, 200)


def test_a_bound_session_cannot_enroll_another_device(app, client, laptop):
    headers = _bearer(laptop["session"]["access_token"])
    before = len(leases(app))
    r = client.post(E, json=enroll_body(name="stolen"), headers=headers)
    assert r.status_code == 403
    err = r.get_json()["error"]
    assert err["code"] == "session_bound_to_device"
    assert err["details"]["device_id"] == laptop["device"]["id"]
    assert len(leases(app)) == before
    # Re-enrolling its own device with a new key (rotation) stays allowed.
    key2 = new_key()
    r = client.post(E, json={**laptop["body"], "public_key": key2}, headers=headers)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["device"]["id"] == laptop["device"]["id"]
    assert r.get_json()["device"]["public_key"] == key2


def test_a_refreshed_session_stays_bound(client, laptop):
    refreshed = client.post(REFRESH, headers=_bearer(laptop["session"]["refresh_token"]))
    assert refreshed.status_code == 200
    r = client.post(E, json=enroll_body(), headers=_bearer(refreshed.get_json()["access_token"]))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "session_bound_to_device"


# ------------------------------------------------------------------ revoked keys


def test_a_revoked_key_is_refused_for_everyone_forever(app, client, api, laptop):
    key, fp = laptop["body"]["public_key"], laptop["body"]["fingerprint"]
    admin = api.user_headers("root", role="admin")
    r = client.post(f"{D}/{laptop['device']['id']}/revoke", json={}, headers=admin)
    assert r.status_code == 200

    def attempt(headers, **overrides):
        return client.post(E, json={**laptop["body"], **overrides}, headers=headers)

    # The lost laptop's own session is over, so it signs in again: same name, same key.
    again = api.new_session("alice")
    r = attempt(again)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "public_key_revoked"
    # Another user cannot take the key either.
    r = attempt(api.user_headers("mallory"), fingerprint="f" * 64)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "public_key_revoked"
    # Deleting the revoked record does not bring the key back.
    assert client.delete(f"{D}/{laptop['device']['id']}", headers=admin).status_code == 204
    r = attempt(api.new_session("alice"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "public_key_revoked"
    # A new key pair on the same machine is welcome (a new device record).
    r = attempt(again, public_key=new_key())
    assert r.status_code == 201
    assert r.get_json()["device"]["fingerprint"] == fp
    assert r.get_json()["device"]["public_key"] != key


def test_a_deleted_active_devices_key_is_refused(client, api, laptop):
    admin = api.user_headers("root", role="admin")
    assert client.delete(f"{D}/{laptop['device']['id']}", headers=admin).status_code == 204
    r = client.post(E, json=laptop["body"], headers=api.new_session("alice"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "public_key_revoked"


def test_disabling_the_user_refuses_the_devices_keys(client, api, laptop):
    admin = api.user_headers("root", role="admin")
    uid = laptop["device"]["user_id"]
    r = client.patch(f"/api/v1/users/{uid}", json={"disabled": True}, headers=admin)
    assert r.status_code == 200
    r = client.post(E, json=laptop["body"], headers=api.user_headers("eve"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "public_key_revoked"


# ------------------------------------------------------------------ approval


@pytest.fixture
def approval(app):
    app.config["NEXAVPN_DEVICE_APPROVAL"] = "required"
    return app


def _peers(client, agent_token: str) -> list[str]:
    r = client.get(CONFIG, headers=agent_headers(agent_token))
    assert r.status_code == 200
    return [p["public_key"] for p in r.get_json()["peers"]]


def test_approval_flow_end_to_end(app, client, api, approval):
    gid, agent = make_gateway(app)
    admin = api.user_headers("root", role="admin")
    user = api.user_headers("alice")
    body = enroll_body()
    r = client.post(E, json=body, headers=user)
    assert r.status_code == 201, r.get_json()
    device, profile = r.get_json()["device"], r.get_json()["profile"]
    assert device["status"] == "pending"
    assert device["vpn_ip"] == "10.8.0.2"
    assert profile["interface"]["addresses"] == ["10.8.0.2/32"]
    assert "__NEXAVPN_PRIVATE_KEY__" in profile["config"]
    # Pending: no peer on the gateway, though the client may fetch its profile.
    assert body["public_key"] not in _peers(client, agent)
    prof = client.get(f"{D}/{device['id']}/profile", headers=user)
    assert prof.status_code == 200 and prof.get_json()["revision"] == device["profile_revision"]
    # The queue.
    queue = client.get(D, query_string={"status": "pending"}, headers=admin).get_json()
    assert [d["id"] for d in queue["items"]] == [device["id"]]
    dash = client.get("/api/v1/dashboard", headers=admin).get_json()
    assert dash["devices"] == {"active": 0, "pending": 1, "revoked": 0}
    # Only admins approve.
    url = f"{D}/{device['id']}/approve"
    assert client.post(url, headers=user).status_code == 403
    assert client.post(f"{D}/999999/approve", headers=admin).status_code == 404
    rev = gateway_revision(app, gid)
    r = client.post(url, headers=admin)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "active"
    assert r.get_json()["profile_revision"] == device["profile_revision"] + 1
    assert gateway_revision(app, gid) > rev
    assert _peers(client, agent) == [body["public_key"]]
    assert audit_actions(app, device["id"]) == ["device.enroll", "device.approve"]
    prof = client.get(
        f"{D}/{device['id']}/profile",
        headers={**user, "If-None-Match": f'"{device["profile_revision"]}"'},
    )
    assert prof.status_code == 200  # the revision moved: the waiting client learns of it
    # Approving again changes nothing.
    rev = gateway_revision(app, gid)
    assert client.post(url, headers=admin).status_code == 200
    assert gateway_revision(app, gid) == rev
    assert audit_actions(app, device["id"]).count("device.approve") == 1
    # Re-enrolling an approved device does not send it back to the queue.
    r = client.post(E, json=body, headers=user)
    assert r.status_code == 200 and r.get_json()["device"]["status"] == "active"


def test_pending_devices_count_toward_the_limit_and_can_be_revoked(app, client, api, approval):
    app.config["NEXAVPN_DEVICE_LIMIT"] = 1
    gid, _ = make_gateway(app)
    api.create_user("alice")
    browser = api.new_session("alice")
    body = enroll_body()
    d = client.post(E, json=body, headers=api.new_session("alice")).get_json()["device"]
    assert d["status"] == "pending"
    r = client.post(E, json=enroll_body(), headers=api.new_session("alice"))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "device_limit_reached"
    rev = gateway_revision(app, gid)
    r = client.post(f"{D}/{d['id']}/revoke", json={}, headers=browser)
    assert r.status_code == 200 and r.get_json()["status"] == "revoked"
    assert gateway_revision(app, gid) == rev  # it never was a peer
    assert leases(app, gid) == []
    assert client.get(f"{D}/{d['id']}/profile", headers=browser).status_code == 410
    admin = api.user_headers("root", role="admin")
    r = client.post(f"{D}/{d['id']}/approve", headers=admin)
    assert r.status_code == 410 and r.get_json()["error"]["code"] == "device_revoked"
    r = client.post(E, json=body, headers=api.new_session("alice"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "public_key_revoked"


def test_a_pending_device_can_be_deleted_and_keeps_its_gateway_in_use(app, client, api, approval):
    gid, _ = make_gateway(app)
    admin = api.user_headers("root", role="admin")
    d = client.post(E, json=enroll_body(), headers=api.user_headers("alice")).get_json()["device"]
    r = client.delete(f"/api/v1/gateways/{gid}", headers=admin)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "gateway_in_use"
    gw = client.get(f"/api/v1/gateways/{gid}", headers=admin).get_json()
    assert gw["peer_count"] == 0  # pending: not a peer
    assert client.delete(f"{D}/{d['id']}", headers=admin).status_code == 204
    assert device_row(app, d["id"]) == {}
    assert client.delete(f"/api/v1/gateways/{gid}", headers=admin).status_code == 204


def test_approval_off_by_default_and_bad_setting_refused(app, client, api, monkeypatch):
    from nexavpn_api.config import load_config

    make_gateway(app)
    r = client.post(E, json=enroll_body(), headers=api.user_headers("alice"))
    assert r.get_json()["device"]["status"] == "active"
    monkeypatch.setenv("NEXAVPN_DEVICE_APPROVAL", "Required")
    secrets = {"SECRET_KEY": "x", "JWT_SECRET_KEY": "y"}
    assert load_config(secrets)["NEXAVPN_DEVICE_APPROVAL"] == "required"
    monkeypatch.setenv("NEXAVPN_DEVICE_APPROVAL", "sometimes")
    with pytest.raises(RuntimeError, match="NEXAVPN_DEVICE_APPROVAL"):
        load_config(secrets)


# ------------------------------------------------------------------ migration


def test_migration_refuses_keys_of_devices_revoked_before_it(empty_db_url, tmp_path):  # noqa: F811
    """Keys of already-revoked devices join the list, unless a live device holds them now."""
    from flask_migrate import upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from nexavpn_api.app import create_app
    from nexavpn_api.extensions import db
    from tests.backend_fixtures import _base_config

    app = create_app(_base_config(empty_db_url, tmp_path))
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0003")
        db.session.execute(
            text(
                "INSERT INTO users (id, username, password_hash, role, disabled, created_at,"
                " updated_at) VALUES (1, 'u', 'x', 'user', false, '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00')"
            )
        )
        rows = [(1, "revoked", "k-lost"), (2, "revoked", "k-back"), (3, "active", "k-back"),
                (4, "revoked", "k-lost"), (5, "active", "k-live")]
        for i, status, key in rows:
            db.session.execute(
                text(
                    "INSERT INTO devices (id, user_id, name, fingerprint, public_key, platform,"
                    " status, profile_revision, rotation_required, resources, created_at,"
                    " updated_at, rx_bytes, tx_bytes) VALUES (:i, 1, 'd', :fp, :pk, 'linux',"
                    " :st, 1, false, '[]', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, 0)"
                ),
                {"i": i, "fp": f"fp{i:016d}", "pk": key, "st": status},
            )
        db.session.commit()
        upgrade(directory=directory)
        refused = dict(
            db.session.execute(text("SELECT public_key, device_id FROM revoked_public_keys")).all()
        )
        # The unique indexes now hold pending devices' keys too.
        with pytest.raises(IntegrityError):
            db.session.execute(
                text(
                    "INSERT INTO devices (id, user_id, name, fingerprint, public_key, platform,"
                    " status, profile_revision, rotation_required, resources, created_at,"
                    " updated_at, rx_bytes, tx_bytes) VALUES (6, 1, 'd', 'fp6fp6fp6fp6fp6fp6',"
                    " 'k-live', 'linux', 'pending', 1, false, '[]', '2026-01-01 00:00:00',"
                    " '2026-01-01 00:00:00', 0, 0)"
                )
            )
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    assert refused == {"k-lost": 4}
