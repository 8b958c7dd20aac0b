"""Prometheus metrics at ``/metrics``: off unless ``NEXAVPN_METRICS_ENABLED``, and even then
answered only to addresses in ``NEXAVPN_METRICS_ALLOW`` (CIDR list; loopback by default) —
everybody else gets the same 404 as any unknown path, so the public listener reveals nothing.

Counters and the latency histogram are updated from request hooks (one place, no edits to the
views); the gauges that describe the fleet (gateways online, peers per gateway, devices) are read
with a few cheap queries at scrape time, so they are right whichever worker answers.

Several gunicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` (the packaged unit and the container
do, and ``packaging/server/gunicorn.conf.py`` empties it at start and tidies after dead
workers); a scrape then sums every worker's files. Without it each worker reports only its own
counts.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .errors import envelope

log = logging.getLogger(__name__)

DEFAULT_ALLOW = "127.0.0.0/8,::1/128"
ENROLL_RULE = "/api/v1/devices/enroll"
AGENT_CONFIG_RULE = "/api/v1/gateway-agent/config"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

if os.environ.get(MULTIPROC_ENV):
    # prometheus_client writes one file per process there from the first metric on.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

# Our own registry (not prometheus_client's global one) so only NexaVPN's series are exposed.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_LATENCY = Histogram(
    "nexavpn_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template (long-polls included).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
ERRORS = Counter(
    "nexavpn_http_errors_total",
    "Error answers by HTTP status and the envelope's error code.",
    ["status", "code"],
    registry=REGISTRY,
)
ENROLLMENTS = Counter(
    "nexavpn_enrollments_total",
    "Successful enrollments: result=new (201) or reenroll (200).",
    ["result"],
    registry=REGISTRY,
)
LONGPOLL_WAITERS = Gauge(
    "nexavpn_longpoll_waiters",
    "Gateway agents currently waiting in a config long-poll.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


class FleetCollector(Collector):
    """Gauges read from the database at scrape time (a handful of aggregate queries)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from .extensions import db
        from .models import Device, Gateway
        from .models._types import utcnow

        online_after = utcnow() - timedelta(
            seconds=int(self.app.config.get("NEXAVPN_GATEWAY_ONLINE_SECONDS", 90))
        )
        peer_after = utcnow() - timedelta(
            seconds=int(self.app.config.get("NEXAVPN_PEER_ONLINE_SECONDS", 180))
        )
        gateways = db.session.execute(
            select(Gateway.id, Gateway.name, Gateway.enabled, Gateway.last_seen_at)
        ).all()
        peers = dict(
            db.session.execute(
                select(Device.gateway_id, func.count())
                .where(Device.status == "active", Device.gateway_id.is_not(None))
                .group_by(Device.gateway_id)
            ).all()
        )
        live = dict(
            db.session.execute(
                select(Device.gateway_id, func.count())
                .where(
                    Device.status == "active",
                    Device.gateway_id.is_not(None),
                    Device.last_handshake_at >= peer_after,
                )
                .group_by(Device.gateway_id)
            ).all()
        )
        devices = dict(
            db.session.execute(select(Device.status, func.count()).group_by(Device.status)).all()
        )

        online = sum(1 for gw in gateways if gw.last_seen_at and gw.last_seen_at >= online_after)
        fam = GaugeMetricFamily(
            "nexavpn_gateways_online", "Gateways whose agent sent a heartbeat recently."
        )
        fam.add_metric([], online)
        yield fam
        fam = GaugeMetricFamily("nexavpn_gateways", "Gateways by enabled flag.", labels=["enabled"])
        for flag in (True, False):
            fam.add_metric([str(flag).lower()], sum(1 for gw in gateways if gw.enabled is flag))
        yield fam
        fam = GaugeMetricFamily(
            "nexavpn_gateway_peers", "Active devices (peers) per gateway.", labels=["gateway"]
        )
        for gw in gateways:
            fam.add_metric([gw.name], peers.get(gw.id, 0))
        yield fam
        fam = GaugeMetricFamily(
            "nexavpn_gateway_peers_online",
            "Peers with a WireGuard handshake within NEXAVPN_PEER_ONLINE_SECONDS, per gateway.",
            labels=["gateway"],
        )
        for gw in gateways:
            fam.add_metric([gw.name], live.get(gw.id, 0))
        yield fam
        fam = GaugeMetricFamily("nexavpn_devices", "Devices by status.", labels=["status"])
        for status in sorted({"active", "pending", "revoked", *devices}):
            fam.add_metric([status], devices.get(status, 0))
        yield fam


def parse_allow(raw: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``"127.0.0.1/32, 10.0.0.0/8"`` → networks; a bad entry stops the start-up loudly."""
    nets = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise RuntimeError(f"NEXAVPN_METRICS_ALLOW: {part!r} is not a CIDR") from exc
    return nets


def _allowed(addresses: Iterable[str], nets: list) -> bool:
    """Every hop must be allowed: a proxied request counts its forwarded client too."""
    seen = False
    for raw in addresses:
        raw = raw.strip()
        if not raw:
            continue
        seen = True
        try:
            addr = ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        if not any(addr in net for net in nets):
            return False
    return seen


# Every label value comes from a small fixed set: a client must never be able to mint series
# (each one lives in memory, and on disk in the multiprocess directory, until a restart).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,47}")


def _method() -> str:
    return request.method if request.method in KNOWN_METHODS else "other"


def _status(code: int) -> str:
    return str(code) if 100 <= code <= 599 else "other"


def _error_code(raw: object) -> str:
    """The envelope's code when it looks like one of ours, else ``other``."""
    return raw if isinstance(raw, str) and _CODE_RE.fullmatch(raw) else "other"


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _is_longpoll() -> bool:
    if request.path != AGENT_CONFIG_RULE or "after" not in request.args:
        return False
    try:
        return int(request.args.get("wait", "0")) > 0
    except ValueError:
        return False


def _before() -> None:
    g.nexavpn_started = time.perf_counter()
    if _is_longpoll():
        LONGPOLL_WAITERS.inc()
        g.nexavpn_longpoll = True


def _after(resp: Response) -> Response:
    started = g.pop("nexavpn_started", None)
    route = _route()
    if started is not None:
        REQUEST_LATENCY.labels(_method(), route, _status(resp.status_code)).observe(
            time.perf_counter() - started
        )
    if resp.status_code >= 400:
        code = "none"
        if resp.is_json and not resp.direct_passthrough:
            body: Any = resp.get_json(silent=True)
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                code = _error_code(body["error"].get("code", "none"))
        ERRORS.labels(_status(resp.status_code), code).inc()
    elif route == ENROLL_RULE and request.method == "POST" and resp.status_code in (200, 201):
        ENROLLMENTS.labels("new" if resp.status_code == 201 else "reenroll").inc()
    return resp


def _teardown(_exc: BaseException | None) -> None:
    if g.pop("nexavpn_longpoll", False):
        LONGPOLL_WAITERS.dec()


def exposition(app: Flask) -> bytes:
    """The text exposition: request metrics (all workers when multiprocess) + fleet gauges."""
    if os.environ.get(MULTIPROC_ENV):
        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY
    fleet = CollectorRegistry(auto_describe=False)
    fleet.register(FleetCollector(app))
    return generate_latest(base) + generate_latest(fleet)


def init_metrics(app: Flask) -> None:
    """Add ``/metrics`` and the hooks when ``NEXAVPN_METRICS_ENABLED``; otherwise nothing."""
    if not app.config.get("NEXAVPN_METRICS_ENABLED"):
        return
    raw = app.config.get("NEXAVPN_METRICS_ALLOW") or os.environ.get(
        "NEXAVPN_METRICS_ALLOW", DEFAULT_ALLOW
    )
    nets = parse_allow(raw)
    # First in line, so the clock starts before any other hook can answer early.
    app.before_request_funcs.setdefault(None, []).insert(0, _before)
    app.after_request(_after)
    app.teardown_request(_teardown)

    def metrics_view():
        hops = [request.environ.get("REMOTE_ADDR", "")]
        hops += request.headers.get("X-Forwarded-For", "").split(",")
        hops += [request.headers.get("X-Real-IP", "")]
        if not _allowed(hops, nets):
            return envelope(404, "not_found", "Not found.")
        resp = Response(exposition(current_app), content_type=CONTENT_TYPE_LATEST)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    app.add_url_rule("/metrics", "nexavpn_metrics", metrics_view, methods=["GET"])
    log.info("metrics enabled at /metrics for %s", ", ".join(str(n) for n in nets))
