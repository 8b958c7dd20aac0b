"""Users: admin CRUD, validation, self-service limits, disable/delete side effects, audit."""

from __future__ import annotations

import pytest

from tests.backend_fixtures import TEST_PASSWORD

USERS = "/api/v1/users"
ME = "/api/v1/auth/me"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _audit(app, action: str) -> list:
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        return [
            (e.actor_id, e.target_type, e.target_id, e.details)
            for e in db.session.execute(
                db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            ).scalars()
        ]


def add_device(app, user_id: int, *, status: str = "active") -> tuple[int, int]:
    """Insert a gateway (once) and an active device with a lease; returns (gateway, device)."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, Gateway, IpLease
    from nexavpn_shared.keys import generate_keypair

    with app.app_context():
        gw = db.session.execute(db.select(Gateway).where(Gateway.name == "gw-t")).scalar()
        if gw is None:
            gw = Gateway(
                name="gw-t",
                endpoint="vpn.example.com:51820",
                vpn_cidr="10.77.0.0/24",
                agent_token_hash="0" * 64,
            )
            db.session.add(gw)
            db.session.flush()
        n = db.session.execute(db.select(db.func.count()).select_from(Device)).scalar_one()
        dev = Device(
            user_id=user_id,
            gateway_id=gw.id,
            name=f"dev{n}",
            fingerprint=f"{n:064x}",
            public_key=generate_keypair().public_key,
            platform="linux",
            status=status,
            vpn_ip=f"10.77.0.{n + 2}",
        )
        db.session.add(dev)
        db.session.flush()
        if status == "active":
            db.session.add(IpLease(gateway_id=gw.id, offset=n + 2, device_id=dev.id))
        db.session.commit()
        return gw.id, dev.id


def _create(client, headers, **body):
    body.setdefault("password", TEST_PASSWORD)
    return client.post(USERS, json=body, headers=headers)


def test_admin_creates_reads_lists_updates_deletes(app, client, admin_headers):
    resp = _create(
        client, admin_headers, username="alice", email="alice@example.com", groups=["eng", "ops"]
    )
    assert resp.status_code == 201
    user = resp.get_json()
    assert set(user) == {
        "id",
        "username",
        "email",
        "role",
        "groups",
        "disabled",
        "created_at",
        "sign_in_method",
        "sso_provider",
        "totp_enabled",
    }
    assert user["sign_in_method"] == "password" and user["sso_provider"] is None
    assert user["totp_enabled"] is False
    assert user["role"] == "user" and user["groups"] == ["eng", "ops"] and not user["disabled"]
    assert user["created_at"].endswith(("Z", "+00:00"))
    uid = user["id"]

    assert client.get(f"{USERS}/{uid}", headers=admin_headers).get_json() == user
    page = client.get(USERS, headers=admin_headers).get_json()
    assert page["total"] == 2 and page["page"] == 1 and page["per_page"] == 50
    assert [u["username"] for u in page["items"]] == ["root", "alice"]

    resp = client.patch(
        f"{USERS}/{uid}", json={"groups": ["ops"], "role": "admin"}, headers=admin_headers
    )
    assert resp.status_code == 200
    assert resp.get_json()["groups"] == ["ops"] and resp.get_json()["role"] == "admin"

    # The new user can sign in with the password set at creation.
    login = {"username": "alice", "password": TEST_PASSWORD}
    assert client.post("/api/v1/auth/login", json=login).status_code == 200

    assert client.delete(f"{USERS}/{uid}", headers=admin_headers).status_code == 204
    assert client.get(f"{USERS}/{uid}", headers=admin_headers).status_code == 404
    assert client.delete(f"{USERS}/{uid}", headers=admin_headers).status_code == 404

    creates, updates, deletes = (
        _audit(app, a) for a in ("user.create", "user.update", "user.delete")
    )
    assert [c[2] for c in creates] == [str(uid)]
    assert updates[0][3]["changed"] == ["role", "groups"]
    assert deletes[0][2] == str(uid) and deletes[0][3]["username"] == "alice"
    assert all("password" not in str(row[3]).replace("'password'", "") for row in creates)


def test_password_never_appears(app, client, admin_headers):
    resp = _create(client, admin_headers, username="bob", password="s3cret-passw0rd")
    assert "s3cret-passw0rd" not in resp.get_data(as_text=True)
    assert "password" not in resp.get_json()
    assert all("s3cret-passw0rd" not in str(r) for r in _audit(app, "user.create"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": ""}, "username"),
        ({"username": "a" * 65}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "ctl\x07x"}, "username"),
        ({"username": "ok", "password": "short"}, "password"),
        ({"username": "ok", "email": "not-an-email"}, "email"),
        ({"username": "ok", "role": "root"}, "role"),
        ({"username": "ok", "groups": ["bad group"]}, "groups"),
        ({"username": "ok", "groups": "eng"}, "groups"),
        ({"username": "ok", "disabled": "maybe"}, "disabled"),
        ({"username": "ok", "is_admin": True}, "is_admin"),
    ],
)
def test_create_validation(client, admin_headers, body, field):
    resp = _create(client, admin_headers, **body)
    assert resp.status_code == 400, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == "validation_error" and field in err["details"]


def test_username_unique_regardless_of_case(client, admin_headers):
    assert _create(client, admin_headers, username="Carol").status_code == 201
    resp = _create(client, admin_headers, username="carol")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    uid = _create(client, admin_headers, username="dave").get_json()["id"]
    resp = client.patch(f"{USERS}/{uid}", json={"username": "CAROL"}, headers=admin_headers)
    assert resp.status_code == 409


def test_empty_email_means_none(client, admin_headers):
    resp = _create(client, admin_headers, username="erin", email="")
    assert resp.status_code == 201 and resp.get_json()["email"] is None


def test_search_filters_and_pagination(api, client, admin_headers):
    for name, role, email in [
        ("ann", "user", "ann@corp.example"),
        ("ben", "admin", "ben@other.example"),
        ("cat", "user", "cat@corp.example"),
    ]:
        api.create_user(name, role=role, email=email)
    resp = client.get(f"{USERS}?q=CORP", headers=admin_headers).get_json()
    assert [u["username"] for u in resp["items"]] == ["ann", "cat"]
    resp = client.get(f"{USERS}?q=be", headers=admin_headers).get_json()
    assert [u["username"] for u in resp["items"]] == ["ben"]
    resp = client.get(f"{USERS}?role=admin", headers=admin_headers).get_json()
    assert [u["username"] for u in resp["items"]] == ["root", "ben"]
    resp = client.get(f"{USERS}?q=%25", headers=admin_headers).get_json()
    assert resp["total"] == 0  # LIKE wildcards are literal
    resp = client.get(f"{USERS}?per_page=2&page=2", headers=admin_headers).get_json()
    assert resp["total"] == 4 and resp["page"] == 2 and resp["per_page"] == 2
    assert [u["username"] for u in resp["items"]] == ["ben", "cat"]
    for bad in ("per_page=0", "per_page=201", "page=0", "page=x", "disabled=perhaps"):
        r = client.get(f"{USERS}?{bad}", headers=admin_headers)
        assert r.status_code == 400, bad
        assert r.get_json()["error"]["code"] == "validation_error"


def test_disabled_filter(app, api, client, admin_headers):
    uid = api.create_user("dora")
    client.patch(f"{USERS}/{uid}", json={"disabled": True}, headers=admin_headers)
    resp = client.get(f"{USERS}?disabled=true", headers=admin_headers).get_json()
    assert [u["username"] for u in resp["items"]] == ["dora"]


def test_non_admin_sees_and_edits_only_itself(app, api, client):
    me = api.create_user("user1", email="u1@example.com")
    other = api.create_user("user2")
    headers = api.headers(api.login("user1")["access_token"])

    assert client.get(USERS, headers=headers).status_code == 403
    assert _create(client, headers, username="sneaky").status_code == 403
    assert client.get(f"{USERS}/{other}", headers=headers).status_code == 404
    assert client.get(f"{USERS}/999999", headers=headers).status_code == 404
    resp = client.patch(f"{USERS}/{other}", json={"email": None}, headers=headers)
    assert resp.status_code == 404
    assert client.delete(f"{USERS}/{other}", headers=headers).status_code == 403
    assert client.get(f"{USERS}/{me}", headers=headers).status_code == 200

    resp = client.patch(f"{USERS}/{me}", json={"email": "new@example.com"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["email"] == "new@example.com"
    for body in (
        {"role": "admin"},
        {"groups": ["admins"]},
        {"disabled": True},
        {"username": "renamed"},
    ):
        resp = client.patch(f"{USERS}/{me}", json=body, headers=headers)
        assert resp.status_code == 403, body
        assert set(resp.get_json()["error"]["details"]) == set(body)
    # Sending an unchanged value of an admin-only field is harmless.
    assert client.patch(f"{USERS}/{me}", json={"role": "user"}, headers=headers).status_code == 200
    with app.app_context():
        from nexavpn_api.extensions import db
        from nexavpn_api.models import User

        assert db.session.get(User, me).role == "user"


def test_own_password_change_needs_current_and_ends_other_sessions(api, client):
    me = api.create_user("pat")
    first = api.login("pat")
    second = api.login("pat")
    headers = api.headers(first["access_token"])
    resp = client.patch(f"{USERS}/{me}", json={"password": "a-new-password"}, headers=headers)
    assert resp.status_code == 400 and "current_password" in resp.get_json()["error"]["details"]
    resp = client.patch(
        f"{USERS}/{me}",
        json={"password": "a-new-password", "current_password": "wrong-one"},
        headers=headers,
    )
    assert resp.status_code == 400
    resp = client.patch(
        f"{USERS}/{me}",
        json={"password": "a-new-password", "current_password": TEST_PASSWORD},
        headers=headers,
    )
    assert resp.status_code == 200
    assert client.get(ME, headers=headers).status_code == 200  # this session lives on
    assert client.get(ME, headers=api.headers(second["access_token"])).status_code == 401
    api.login("pat", "a-new-password")


def test_current_password_guesses_are_limited_and_audited(app, api, client):
    """A stolen session is no password oracle: wrong current passwords count like failed
    sign-ins (429 after the limit, even for the right one) and each is audited."""
    me = api.create_user("oracle")
    headers = api.headers(api.login("oracle")["access_token"])
    limit = app.config["NEXAVPN_LOGIN_MAX_FAILURES"]

    def change(current: str):
        return client.patch(
            f"{USERS}/{me}",
            json={"password": "a-new-password", "current_password": current},
            headers=headers,
        )

    for i in range(limit):
        assert change(f"guess-{i}").status_code == 400
    resp = change(TEST_PASSWORD)
    assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "rate_limited"
    rows = _audit(app, "auth.password_check_failed")
    assert len(rows) == limit
    assert rows[0][0] == str(me) and rows[0][3]["reason"] == "bad_current_password"
    assert all("guess" not in str(r) for r in rows)


def test_admin_sets_password_and_ends_that_users_sessions(api, client, admin_headers):
    uid = api.create_user("quinn")
    tokens = api.login("quinn")
    body = {"password": "reset-by-admin"}
    resp = client.patch(f"{USERS}/{uid}", json=body, headers=admin_headers)
    assert resp.status_code == 200
    assert client.get(ME, headers=api.headers(tokens["access_token"])).status_code == 401
    api.login("quinn", "reset-by-admin")
    assert client.get(ME, headers=admin_headers).status_code == 200


def test_disable_ends_sessions_and_revokes_devices(app, api, client, admin_headers):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, IpLease

    uid = api.create_user("rita")
    tokens = api.login("rita")
    _gw, dev = add_device(app, uid)
    resp = client.patch(f"{USERS}/{uid}", json={"disabled": True}, headers=admin_headers)
    assert resp.status_code == 200 and resp.get_json()["disabled"] is True
    assert client.get(ME, headers=api.headers(tokens["access_token"])).status_code == 401
    with app.app_context():
        device = db.session.get(Device, dev)
        assert device.status == "revoked"
        assert db.session.execute(db.select(IpLease)).first() is None
    revokes = _audit(app, "device.revoke")
    assert len(revokes) == 1 and revokes[0][2] == str(dev)
    # Re-enabling lets the user sign in again; the device stays revoked.
    client.patch(f"{USERS}/{uid}", json={"disabled": False}, headers=admin_headers)
    api.login("rita")
    with app.app_context():
        assert db.session.get(Device, dev).status == "revoked"


def test_delete_removes_devices_and_keeps_the_trail(app, api, client, admin_headers):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, IpLease, TokenFamily

    uid = api.create_user("sam")
    api.login("sam")
    add_device(app, uid)
    add_device(app, uid, status="revoked")
    assert client.delete(f"{USERS}/{uid}", headers=admin_headers).status_code == 204
    with app.app_context():
        assert db.session.execute(db.select(Device)).first() is None
        assert db.session.execute(db.select(IpLease)).first() is None
        assert (
            db.session.execute(db.select(TokenFamily).where(TokenFamily.user_id == uid)).first()
            is None
        )
    deletes = _audit(app, "user.delete")
    assert deletes[0][3]["devices_revoked"] == 1 and deletes[0][3]["devices_deleted"] == 2
    assert len(_audit(app, "device.revoke")) == 1
    # The username is free again.
    assert _create(client, admin_headers, username="sam").status_code == 201


def test_cannot_remove_yourself_or_the_last_admin(app, api, client, admin_headers):
    root_id = client.get(ME, headers=admin_headers).get_json()["id"]
    resp = client.delete(f"{USERS}/{root_id}", headers=admin_headers)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    resp = client.patch(f"{USERS}/{root_id}", json={"disabled": True}, headers=admin_headers)
    assert resp.status_code == 409
    resp = client.patch(f"{USERS}/{root_id}", json={"role": "user"}, headers=admin_headers)
    assert resp.status_code == 409  # the last enabled admin

    # With a second admin, root may step down, but the second one is then the last.
    second = api.create_user("admin2", role="admin")
    resp = client.patch(f"{USERS}/{root_id}", json={"role": "user"}, headers=admin_headers)
    assert resp.status_code == 200
    h2 = api.headers(api.login("admin2")["access_token"])
    # root is no admin any more: its token is now a user token.
    assert client.get(USERS, headers=admin_headers).status_code == 403
    assert client.delete(f"{USERS}/{second}", headers=h2).status_code == 409
    resp = client.patch(f"{USERS}/{second}", json={"disabled": True}, headers=h2)
    assert resp.status_code == 409
    assert client.delete(f"{USERS}/{root_id}", headers=h2).status_code == 204


def test_group_change_refreshes_device_destinations(app, api, client, admin_headers):
    """A user joining a group gets the group's policy on its active devices."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, Policy

    uid = api.create_user("tom")
    _gw, dev = add_device(app, uid)
    with app.app_context():
        p = Policy(name="eng-net", destinations=["10.20.0.0/24"])
        p.groups = ["eng"]
        db.session.add(p)
        db.session.commit()
        before = db.session.get(Device, dev).profile_revision
    resp = client.patch(f"{USERS}/{uid}", json={"groups": ["eng"]}, headers=admin_headers)
    assert resp.status_code == 200
    with app.app_context():
        device = db.session.get(Device, dev)
        assert [r["destination"] for r in device.resources] == ["10.20.0.0/24"]
        assert device.profile_revision == before + 1


def test_unknown_field_in_patch_is_400(api, client, admin_headers):
    uid = api.create_user("uma")
    resp = client.patch(f"{USERS}/{uid}", json={"colour": "blue"}, headers=admin_headers)
    assert resp.status_code == 400 and "colour" in resp.get_json()["error"]["details"]
    resp = client.patch(f"{USERS}/{uid}", json={"current_password": "x"}, headers=admin_headers)
    assert resp.status_code == 400
