"""The agent against a simulated interface (recording runner) and a loopback fake control plane."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from nexavpn_gateway.agent import VERIFY_INTERVAL, Agent, AgentOptions
from nexavpn_gateway.client import ControlPlaneClient
from tests.gateway.fakes import FakeControlPlane, FakePeer, FakeWorld, config_payload, new_key, peer


def make_agent(world: FakeWorld, cp: FakeControlPlane, state_dir: Path, **kw: object) -> Agent:
    opts = AgentOptions(interface=world.name, listen_port=51820, state_dir=state_dir,
                        poll_wait=1, heartbeat_interval=0.2, backoff_initial=0.05,
                        backoff_max=0.2, unauthorized_backoff=0.2, **kw)  # type: ignore[arg-type]
    return Agent(opts, world.runner, ControlPlaneClient(cp.url, cp.token, timeout=2),
                 heartbeat_client=ControlPlaneClient(cp.url, cp.token, timeout=2))


def wg_changes(world: FakeWorld, since: int = 0) -> list[tuple[str, ...]]:
    return [a for a in world.runner.argvs[since:] if a[:2] in (("wg", "set"), ("wg", "syncconf"))
            and "private-key" not in a]


def test_first_start_end_to_end_with_fakes(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    world = FakeWorld(name="nxwga")
    keys = [new_key() for _ in range(3)]
    with FakeControlPlane() as cp, caplog.at_level(logging.DEBUG):
        cp.set_config(config_payload(4, [peer(keys[0], 2, "10.20.0.0/24"),
                                         peer(keys[1], 3, "10.30.0.0/24", "10.20.0.0/24"),
                                         peer(keys[2], 4)]))
        agent = make_agent(world, cp, tmp_path)
        assert agent.run_once() == 0
        # The token is checked (config fetch) first, then the key goes out in a heartbeat.
        assert [r[:2] for r in cp.requests[:2]] == [
            ("GET", "/api/v1/gateway-agent/config"), ("POST", "/api/v1/gateway-agent/heartbeat")]
        assert cp.heartbeats[0]["public_key"] == agent.public_key == world.public_key
        assert cp.heartbeats[0]["listen_port"] == 51820
        assert {p["public_key"] for p in cp.heartbeats[-1]["peers"]} == set(keys)
        assert set(cp.heartbeats[-1]["peers"][0]) == {
            "public_key", "latest_handshake", "rx_bytes", "tx_bytes"}
    assert ("wireguard-go", "nxwga") in world.runner.argvs
    assert world.addresses == ["10.8.0.1/24"]
    assert {k: p.allowed_ips for k, p in world.peers.items()} == {
        keys[0]: ["10.8.0.2/32"], keys[1]: ["10.8.0.3/32"], keys[2]: ["10.8.0.4/32"]}
    (full,) = world.nft_text
    assert "10.8.0.3 . 10.20.0.0/24,\n\t\t\t10.8.0.3 . 10.30.0.0/24" in full
    assert ("sysctl", "-q", "-w", "net.ipv4.ip_forward=1") in world.runner.argvs
    assert agent.revision == 4
    secret = (tmp_path / "private.key").read_text().strip()
    assert secret not in caplog.text
    assert cp.token not in caplog.text


def test_one_change_touches_only_that_peer(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwgb")
    keys = [new_key() for _ in range(50)]
    world_peers = [peer(k, i + 2, "10.20.0.0/24") for i, k in enumerate(keys)]
    with FakeControlPlane() as cp:
        agent = make_agent(world, cp, tmp_path)
        agent.start()
        agent.apply_config(config_payload(1, world_peers))
        world.peers[keys[0]].endpoint = "198.51.100.9:5555"  # a connected client
        world.peers[keys[0]].handshake = 1700000000
        mark = len(world.runner.argvs)
        newkey = new_key()
        changed = [*world_peers[:10], peer(keys[10], 200, "10.20.0.0/24"), *world_peers[11:49],
                   peer(newkey, 100, "10.40.0.0/24")]  # keys[49] removed, keys[10] moved
        result = agent.apply_config(config_payload(2, changed))
    assert result.method == "set"
    assert (len(result.plan.add), len(result.plan.update), len(result.plan.remove)) == (1, 1, 1)
    assert wg_changes(world, mark) == [(
        "wg", "set", "nxwgb", "peer", keys[49], "remove",
        "peer", newkey, "allowed-ips", "10.8.0.100/32",
        "peer", keys[10], "allowed-ips", "10.8.0.200/32")]
    assert world.peers[keys[0]].endpoint == "198.51.100.9:5555"  # untouched, not re-created
    assert world.peers[keys[0]].handshake == 1700000000
    assert result.nft == "delta"
    delta = world.nft_text[-1]
    assert delta.startswith("delete element inet nexavpn allow4 {")
    assert "add element inet nexavpn allow4 { 10.8.0.100 . 10.40.0.0/24," in delta
    assert "10.8.0.2 " not in delta  # unchanged peers' grants are not rewritten


def test_big_change_uses_few_wg_set_calls(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwgc")
    keys = [new_key() for _ in range(3000)]
    with FakeControlPlane() as cp:
        agent = make_agent(world, cp, tmp_path)
        agent.start()
        mark = len(world.runner.calls)
        result = agent.apply_config(config_payload(
            1, [{"public_key": k, "allowed_ips": [f"10.8.{1 + i // 250}.{1 + i % 250}/32"],
                 "destinations": ["10.20.0.0/24"]} for i, k in enumerate(keys)]))
    assert result.method == "set"
    calls = wg_changes(world, mark)
    assert len(calls) == 1  # 3,000 peers fit one argv (~250 KB)
    assert len(world.peers) == 3000
    # No key material on any wg stdin (nft gets its ruleset there, nothing else does).
    assert all(c.input is None for c in world.runner.calls if c.argv[:2] != ("nft", "-f"))
    assert world.public_key == agent.public_key


def test_cached_view_saves_the_dump_until_verify_is_due(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwgk")
    now = [1000.0]
    k1, k2 = new_key(), new_key()
    with FakeControlPlane() as cp:
        agent = make_agent(world, cp, tmp_path)
        agent.clock = lambda: now[0]
        agent.start()

        def dumps() -> int:
            return sum(1 for a in world.runner.argvs if a[-1] == "dump")

        agent.apply_config(config_payload(1, [peer(k1, 2)]))
        assert dumps() == 1  # first apply after start: always read the interface
        agent.apply_config(config_payload(2, [peer(k1, 2), peer(k2, 3)]))
        assert dumps() == 1  # cached view
        assert set(world.peers) == {k1, k2}
        del world.peers[k2]  # drift the cache cannot know about
        now[0] += VERIFY_INTERVAL + 1
        result = agent.apply_config(config_payload(3, [peer(k1, 2), peer(k2, 3)]))
        assert dumps() == 2
        assert [p.public_key for p in result.plan.add] == [k2]
        assert set(world.peers) == {k1, k2}


def test_failed_apply_forces_a_fresh_dump(tmp_path: Path) -> None:
    from nexavpn_gateway.runner import CommandError

    world = FakeWorld(name="nxwgl")
    k1, k2 = new_key(), new_key()
    with FakeControlPlane() as cp:
        agent = make_agent(world, cp, tmp_path)
        agent.start()
        agent.apply_config(config_payload(1, [peer(k1, 2)]))
        world.runner.on(("wg", "set", "nxwgl", "peer"),
                        CommandError(("wg", "set"), 1, "Unable to modify interface"))
        with pytest.raises(CommandError):
            agent.apply_config(config_payload(2, [peer(k1, 2), peer(k2, 3)]))
        assert agent.revision == 1  # not advanced: the loop retries this revision
        del world.runner.responses[("wg", "set", "nxwgl", "peer")]
        before = sum(1 for a in world.runner.argvs if a[-1] == "dump")
        agent.apply_config(config_payload(2, [peer(k1, 2), peer(k2, 3)]))
        assert sum(1 for a in world.runner.argvs if a[-1] == "dump") == before + 1
    assert set(world.peers) == {k1, k2}


def test_bad_peers_skipped_rest_applied(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    world = FakeWorld(name="nxwgd")
    good = new_key()
    with FakeControlPlane() as cp, caplog.at_level(logging.WARNING):
        agent = make_agent(world, cp, tmp_path)
        agent.start()
        agent.apply_config(config_payload(1, [
            {"public_key": "AAAA", "allowed_ips": ["10.8.0.5/32"], "destinations": []},
            peer(good, 2, "10.20.0.0/24"),
            peer(new_key(), 3, "10.20.0.0/33"),
        ]))
    assert list(world.peers) == [good]
    assert "10.8.0.3" not in world.nft_text[-1]
    records = [r for r in caplog.records if r.getMessage().startswith("peer skipped")]
    assert [r.fields["field"] for r in records] == [  # type: ignore[attr-defined]
        "peers[0].public_key", "peers[2].destinations"]


def test_nft_delta_failure_falls_back_to_full_replace(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwge")
    k = new_key()
    with FakeControlPlane() as cp:
        agent = make_agent(world, cp, tmp_path)
        agent.start()
        agent.apply_config(config_payload(1, [peer(k, 2, "10.20.0.0/24")]))
        world.nft_fail_delta = True
        result = agent.apply_config(config_payload(2, [peer(k, 2, "10.21.0.0/24")]))
    assert result.nft == "full"
    assert world.nft_text[-1].startswith("table inet nexavpn\ndelete table inet nexavpn\n")
    assert "10.8.0.2 . 10.21.0.0/24" in world.nft_text[-1]


def test_restart_converges_without_dropping_unchanged_peers(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwgf")
    keys = [new_key() for _ in range(5)]
    cfg = config_payload(3, [peer(k, i + 2) for i, k in enumerate(keys)])
    with FakeControlPlane() as cp:
        first = make_agent(world, cp, tmp_path)
        first.start()
        first.apply_config(cfg)
        stranger = new_key()
        world.peers[stranger] = FakePeer(["10.8.0.99/32"])  # left over / added by hand
        mark = len(world.runner.argvs)
        second = make_agent(world, cp, tmp_path)  # same state dir: same key
        second.start()
        result = second.apply_config(cfg)
    assert second.public_key == first.public_key
    assert not any(a[:3] == ("ip", "link", "add") or a[0] == "wireguard-go"
                   for a in world.runner.argvs[mark:])
    assert wg_changes(world, mark) == [("wg", "set", "nxwgf", "peer", stranger, "remove")]
    assert result.plan.unchanged == 5
    assert result.nft == "full"  # after a restart the table is always rewritten once


def test_loop_keeps_state_when_server_down_or_token_refused(tmp_path, caplog) -> None:
    world = FakeWorld(name="nxwgg")
    keys = [new_key() for _ in range(3)]
    with FakeControlPlane() as cp, caplog.at_level(logging.INFO):
        cp.set_config(config_payload(1, [peer(k, i + 2) for i, k in enumerate(keys)]))
        agent = make_agent(world, cp, tmp_path)
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while agent.revision != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert agent.revision == 1
        mark = len(world.runner.argvs)
        cp.status_override = 503
        time.sleep(1.0)
        cp.status_override = 401
        time.sleep(1.0)
        assert set(world.peers) == set(keys)  # nothing flushed
        assert wg_changes(world, mark) == []
        assert not any(a[:2] == ("nft", "-f") for a in world.runner.argvs[mark:])
        assert "control plane error; keeping the current state" in caplog.text
        assert "refused the agent token (401)" in caplog.text
        # Back to normal: a new revision is applied again.
        cp.status_override = None
        cp.set_config(config_payload(2, [peer(k, i + 2) for i, k in enumerate(keys[:2])]))
        deadline = time.monotonic() + 10
        while agent.revision != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        agent.request_stop()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert set(world.peers) == set(keys[:2])
    # Steady heartbeats (every 0.2 s here) from the background thread, outage or not.
    assert sum(1 for r in cp.requests if r[0] == "POST") >= 5


def test_loop_keeps_state_when_server_is_gone(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwgh")
    k = new_key()
    cp = FakeControlPlane()
    with cp:
        cp.set_config(config_payload(1, [peer(k, 2, "10.20.0.0/24")]))
        agent = make_agent(world, cp, tmp_path)
        agent.start()
        agent.apply_config(cp.config)
    mark = len(world.runner.argvs)
    # Server process gone: the poll fails with connection refused, again and again.
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    time.sleep(1.0)
    agent.request_stop()
    thread.join(timeout=10)
    assert list(world.peers) == [k]
    assert wg_changes(world, mark) == []


def test_drift_is_repaired_on_idle_poll(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwgi")
    k1, k2 = new_key(), new_key()
    with FakeControlPlane() as cp:
        cp.set_config(config_payload(1, [peer(k1, 2), peer(k2, 3)]))
        agent = make_agent(world, cp, tmp_path)
        agent.start()
        agent.poll_once()
        del world.peers[k2]  # someone ran `wg set ... remove`
        world.public_key = None  # and wireguard-go was restarted
        result = agent.poll_once()  # 304 after the wait: verify and repair
    assert result is not None and [p.public_key for p in result.plan.add] == [k2]
    assert world.public_key == agent.public_key
    assert set(world.peers) == {k1, k2}


def test_sigterm_stops_a_waiting_loop(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwgj")
    with FakeControlPlane() as cp:
        cp.set_config(config_payload(1, []))
        agent = make_agent(world, cp, tmp_path)
        agent.options.poll_wait = 30
        old = signal.signal(signal.SIGTERM, agent.handle_signal)
        try:
            threading.Timer(1.0, os.kill, [os.getpid(), signal.SIGTERM]).start()
            t0 = time.monotonic()
            assert agent.run() == 0
            elapsed = time.monotonic() - t0
        finally:
            signal.signal(signal.SIGTERM, old)
    assert agent.revision == 1
    assert elapsed < 10  # did not sit out the 30 s long-poll
    assert world.peers == {}


def test_vanished_interface_is_recreated_with_its_peers(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwgm")
    k1, k2 = new_key(), new_key()
    cfg = config_payload(1, [peer(k1, 2, "10.20.0.0/24"), peer(k2, 3)])
    with FakeControlPlane() as cp:
        agent = make_agent(world, cp, tmp_path)
        agent.start()
        agent.apply_config(cfg)
        # wireguard-go died: link, key, addresses and peers are all gone.
        world.exists, world.public_key, world.peers, world.addresses = False, None, {}, []
        mark = len(world.runner.argvs)
        agent.converge(agent.desired, verify=True)
    assert ("wireguard-go", "nxwgm") in world.runner.argvs[mark:]
    assert world.public_key == agent.public_key
    assert set(world.peers) == {k1, k2}
    assert world.addresses == ["10.8.0.1/24"]


def test_refused_token_changes_nothing_on_the_host_then_reconnects(tmp_path, caplog) -> None:
    world = FakeWorld(name="nxwgt")
    with FakeControlPlane() as cp, caplog.at_level(logging.INFO):
        cp.set_config(config_payload(1, [peer(new_key(), 2)]))
        cp.status_override = 401
        agent = make_agent(world, cp, tmp_path / "state")
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while sum(1 for r in cp.requests if r[0] == "GET") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Refused: no key, no interface, no UDP port, no nft table; and it says what to do.
        assert world.runner.argvs == []
        assert not (tmp_path / "state").exists()
        assert "refused the agent token (401)" in caplog.text
        assert "retrying only every 0.00333333 min" in caplog.text  # the option, in minutes
        assert "new token" in caplog.text
        cp.status_override = None
        deadline = time.monotonic() + 10
        while agent.revision != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert agent.revision == 1
        assert "reconnected to the control plane; token accepted" in caplog.text
        assert ("wireguard-go", "nxwgt") in world.runner.argvs
        # An outage after that ends with one "reconnected" line too.
        cp.status_override = 503
        time.sleep(2.0)  # longer than one long-poll (1 s here)
        cp.status_override = None
        cp.set_config(config_payload(2, []))
        deadline = time.monotonic() + 10
        while agent.revision != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        agent.request_stop()
        thread.join(timeout=10)
    assert agent.revision == 2
    assert "reconnected to the control plane" in caplog.text.split("token accepted", 1)[1]


def test_unauthorized_backoff_is_minutes_by_default(tmp_path: Path) -> None:
    opts = AgentOptions(interface="x", listen_port=1, state_dir=tmp_path)
    assert opts.unauthorized_backoff >= 120
    client = ControlPlaneClient("http://127.0.0.1:9", "t")
    agent = Agent(opts, FakeWorld(name="nxwgu").runner, client)
    assert agent._backoff(1, unauthorized=True) >= 0.8 * 120
    assert agent._backoff(1) <= 1.2 * opts.backoff_initial


def test_a_new_token_in_the_file_is_picked_up_without_a_restart(tmp_path, caplog) -> None:
    """After a 401 the agent waits minutes, but a rotated token written to the file ends it."""
    world = FakeWorld(name="nxwgr")
    token_file = tmp_path / "token"
    token_file.write_text("old-token\n")
    with FakeControlPlane(token="new-token") as cp, caplog.at_level(logging.INFO):
        cp.set_config(config_payload(1, []))
        opts = AgentOptions(interface=world.name, listen_port=51820, state_dir=tmp_path / "s",
                            poll_wait=1, heartbeat_interval=0.2, unauthorized_backoff=600)
        agent = Agent(opts, world.runner, ControlPlaneClient(cp.url, "old-token", timeout=2),
                      heartbeat_client=ControlPlaneClient(cp.url, "old-token", timeout=2),
                      read_token=lambda: token_file.read_text().strip())
        agent.TOKEN_CHECK_INTERVAL = 0.1
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while "refused the agent token" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "picked up within seconds" in caplog.text and "every 10 min" in caplog.text
        time.sleep(0.3)
        assert agent.revision is None and world.runner.argvs == []  # still waiting, nothing made
        token_file.write_text("new-token\n")  # the operator pastes the rotated token
        deadline = time.monotonic() + 10
        while agent.revision != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        agent.request_stop()
        thread.join(timeout=10)
    assert agent.revision == 1  # long before the 10 minute backoff
    assert "the token file holds a new token; trying it now" in caplog.text
    assert "new-token" not in caplog.text and "old-token" not in caplog.text
