"""/metrics: off by default, loopback/allow-list only when on, and the series move when the
things they count happen (errors by envelope code, latency, long-poll waiters, fleet gauges).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nexavpn_api import metrics


def _scrape(client, **kw) -> dict[tuple[str, tuple], float]:
    resp = client.get("/metrics", **kw)
    assert resp.status_code == 200, resp.data[:200]
    assert resp.content_type.startswith("text/plain")
    out: dict[tuple[str, tuple], float] = {}
    for fam in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _get(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_config(app_config):
    app_config["NEXAVPN_METRICS_ENABLED"] = True
    return app_config


def test_metrics_off_by_default(client):
    resp = client.get("/metrics")
    # Falls through to the admin UI catch-all: whatever it is, it is not an exposition.
    assert b"nexavpn_http_request_duration_seconds" not in resp.data


def test_metrics_only_for_allowed_addresses(metrics_config, app, client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 404
    assert outside.get_json()["error"]["code"] == "not_found"
    # A loopback proxy forwarding an outside client is still an outside client.
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 404


def test_allow_list_from_setting(app_config):
    from nexavpn_api.app import create_app

    app_config.update(NEXAVPN_METRICS_ENABLED=True, NEXAVPN_METRICS_ALLOW="10.1.0.0/16, ::1")
    app = create_app(app_config)
    c = app.test_client()
    assert c.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert c.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404
    app_config["NEXAVPN_METRICS_ALLOW"] = "10.1.0.0/16, not-a-cidr"
    with pytest.raises(RuntimeError, match="not-a-cidr"):
        create_app(app_config)


def test_errors_by_code_and_latency(metrics_config, app, client):
    before = _scrape(client)
    for _ in range(3):
        assert client.get("/api/v1/no-such-thing").status_code == 404
    bad = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrongwrong"})
    assert bad.status_code == 401
    assert client.get("/api/v1/health").status_code == 200
    after = _scrape(client)
    d404 = _get(after, "nexavpn_http_errors_total", status="404", code="not_found") - _get(
        before, "nexavpn_http_errors_total", status="404", code="not_found"
    )
    assert d404 == 3
    code = bad.get_json()["error"]["code"]
    assert (
        _get(after, "nexavpn_http_errors_total", status="401", code=code)
        - _get(before, "nexavpn_http_errors_total", status="401", code=code)
        == 1
    )
    key = dict(method="GET", route="/api/v1/health", status="200")
    assert (
        _get(after, "nexavpn_http_request_duration_seconds_count", **key)
        - _get(before, "nexavpn_http_request_duration_seconds_count", **key)
        == 1
    )


def test_fleet_gauges_come_from_the_database(metrics_config, app, client, api):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, Gateway
    from nexavpn_api.models._types import utcnow

    uid = api.create_user("bob")
    with app.app_context():
        gw_on = Gateway(
            name="gw-on",
            endpoint="vpn.example.com:51820",
            vpn_cidr="10.8.0.0/24",
            agent_token_hash="a" * 64,
            last_seen_at=utcnow(),
        )
        gw_off = Gateway(
            name="gw-off",
            endpoint="vpn2.example.com:51820",
            vpn_cidr="10.9.0.0/24",
            agent_token_hash="b" * 64,
            last_seen_at=utcnow() - timedelta(hours=1),
        )
        db.session.add_all([gw_on, gw_off])
        db.session.flush()
        for i in range(3):
            db.session.add(
                Device(
                    user_id=uid,
                    gateway_id=gw_on.id,
                    name=f"d{i}",
                    fingerprint=f"{i:02d}" * 16,
                    public_key=f"{i}" * 43 + "=",
                    platform="linux",
                    vpn_ip=f"10.8.0.{i + 2}",
                    status="revoked" if i == 2 else "active",
                    last_handshake_at=utcnow() if i == 0 else None,
                )
            )
        db.session.commit()
    s = _scrape(client)
    assert _get(s, "nexavpn_gateways_online") == 1
    assert _get(s, "nexavpn_gateways", enabled="true") == 2
    assert _get(s, "nexavpn_gateway_peers", gateway="gw-on") == 2  # the revoked one is no peer
    assert _get(s, "nexavpn_gateway_peers", gateway="gw-off") == 0
    assert _get(s, "nexavpn_gateway_peers_online", gateway="gw-on") == 1
    assert _get(s, "nexavpn_devices", status="revoked") == 1
    assert _get(s, "nexavpn_devices", status="pending") == 0  # always present, for alerts


def test_longpoll_waiters_gauge_tracks_requests_in_flight(metrics_config, app):
    """A view that blocks stands in for the agent long-poll; the gauge is 1 while it waits."""
    release = threading.Event()
    entered = threading.Event()

    def fake_longpoll():
        entered.set()
        release.wait(10)
        return {"revision": 1}

    # Replace whatever the agent blueprint does with a blocking stand-in at the same path.
    app.view_functions.pop("nexavpn_test_lp", None)
    app.add_url_rule(metrics.AGENT_CONFIG_RULE + "-test", "nexavpn_test_lp", fake_longpoll)
    original = metrics.AGENT_CONFIG_RULE
    metrics.AGENT_CONFIG_RULE = original + "-test"
    try:
        c = app.test_client()
        base = _get(_scrape(c), "nexavpn_longpoll_waiters")
        t = threading.Thread(
            target=lambda: app.test_client().get(metrics.AGENT_CONFIG_RULE + "?after=1&wait=30")
        )
        t.start()
        assert entered.wait(10)
        assert _get(_scrape(c), "nexavpn_longpoll_waiters") == base + 1
        release.set()
        t.join(10)
        assert _get(_scrape(c), "nexavpn_longpoll_waiters") == base
        # Without ?after (an immediate answer) it is no waiter.
        release.set()
        c.get(metrics.AGENT_CONFIG_RULE)
        assert _get(_scrape(c), "nexavpn_longpoll_waiters") == base
    finally:
        metrics.AGENT_CONFIG_RULE = original
        release.set()


def test_enrollment_counter_counts_201_and_200(metrics_config, app):
    """The hook counts successful POSTs on the enroll route (a stand-in view answers)."""
    from flask import jsonify

    answers = iter([201, 200, 409])

    def fake_enroll():
        status = next(answers)
        if status == 409:
            return jsonify(
                {"error": {"code": "public_key_in_use", "message": "x", "details": {}}}
            ), 409
        return jsonify({"device": {}}), status

    original = metrics.ENROLL_RULE
    metrics.ENROLL_RULE = "/api/v1/test-enroll"
    app.add_url_rule(metrics.ENROLL_RULE, "nexavpn_test_enroll", fake_enroll, methods=["POST"])
    try:
        c = app.test_client()
        before = _scrape(c)
        for _ in range(3):
            c.post(metrics.ENROLL_RULE, json={})
        after = _scrape(c)
    finally:
        metrics.ENROLL_RULE = original
    for result in ("new", "reenroll"):
        assert (
            _get(after, "nexavpn_enrollments_total", result=result)
            - _get(before, "nexavpn_enrollments_total", result=result)
            == 1
        )
    assert (
        _get(after, "nexavpn_http_errors_total", status="409", code="public_key_in_use")
        - _get(before, "nexavpn_http_errors_total", status="409", code="public_key_in_use")
        == 1
    )


def test_parse_allow():
    nets = metrics.parse_allow("127.0.0.1, 10.0.0.0/8;::1/128")
    assert [str(n) for n in nets] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert metrics._allowed(["::ffff:127.0.0.1"], nets)
    assert not metrics._allowed(["", " "], nets)
    assert not metrics._allowed(["127.0.0.1", "garbage"], nets)


def test_label_values_are_bounded(metrics_config, app, client):
    """Made-up methods and paths never become label values (each would be a series kept in
    memory and in the multiprocess directory): unknown methods count as `other`."""
    for i in range(40):
        client.open(f"/api/v1/no-such-{i}", method=f"FOO{i}")
        client.open("/api/v1/health", method=f"BAR{i}")
        client.get(f"/api/v1/random-{i}")
    text = client.get("/metrics").get_data(as_text=True)
    assert "FOO" not in text and "BAR" not in text and "random-" not in text
    samples = _scrape(client)
    methods = {dict(k[1]).get("method") for k in samples if "method" in dict(k[1])}
    assert methods <= {*metrics.KNOWN_METHODS, "other"} and "other" in methods
    routes = {dict(k[1])["route"] for k in samples if "route" in dict(k[1])}
    assert "unmatched" in routes and not any("no-such" in r for r in routes)
    codes = {dict(k[1])["code"] for k in samples if "code" in dict(k[1])}
    assert all(metrics._CODE_RE.fullmatch(c) for c in codes)


def test_error_code_label_only_takes_our_codes():
    assert metrics._error_code("rate_limited") == "rate_limited"
    assert metrics._error_code("x" * 100) == "other"
    assert metrics._error_code("Weird Code!") == "other"
    assert metrics._error_code(7) == "other"
