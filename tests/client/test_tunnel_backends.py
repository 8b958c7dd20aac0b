"""Tunnel backends through the recording runner: exact commands, success and failure answers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nexavpn_client import errors
from nexavpn_client.runner import CommandResult, RecordingRunner
from nexavpn_client.tunnel import (
    CONNECTED,
    DISCONNECTED,
    HANDED_OFF,
    HandoffBackend,
    LinuxBackend,
    MacOSBackend,
    OsascriptHelper,
    SudoHelper,
    TunnelConfig,
    WindowsBackend,
    choose_backend,
    parse_wg_dump,
)
from nexavpn_client.tunnel.base import status_from_dump
from nexavpn_client.tunnel.windows import parse_sc_state
from nexavpn_shared import keys, wgconf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PRIV = keys.generate_private_key()
GW = keys.generate_keypair().public_key


def _config(allowed=("10.8.0.1/32", "10.20.0.0/24"), addresses=("10.8.0.7/32",),
            dns=("10.8.0.1",), name="nexavpn") -> TunnelConfig:
    text = wgconf.render(wgconf.WgConfig(
        interface=wgconf.WgInterface(private_key=PRIV, addresses=addresses, dns=dns, mtu=1400),
        peers=(wgconf.WgPeer(public_key=GW, allowed_ips=allowed, endpoint="198.51.100.1:51820",
                             persistent_keepalive=25),),
    ))
    return TunnelConfig.from_text(name, text)


DUMP = (
    f"{PRIV}\t{keys.public_key_from_private(PRIV)}\t41414\toff\n"
    f"{GW}\t(none)\t198.51.100.1:51820\t10.8.0.1/32,10.20.0.0/24\t1700000000\t1200\t3400\t25\n"
)


# ------------------------------------------------------------------ shared pieces


def test_config_repr_hides_key_and_parses_fields():
    cfg = _config()
    assert PRIV not in repr(cfg)
    assert cfg.addresses == ("10.8.0.7/32",) and cfg.mtu == 1400
    assert cfg.allowed_ips == ("10.8.0.1/32", "10.20.0.0/24")
    assert "Address" not in cfg.setconf_text() and PRIV in cfg.setconf_text()


@pytest.mark.parametrize("name", ["", "a" * 16, "bad name", "x/y", "..", "tun;rm"])
def test_bad_tunnel_names(name):
    with pytest.raises(errors.TunnelError):
        TunnelConfig.from_text(name, _config().text)


def test_placeholder_config_is_refused():
    text = _config().text.replace(PRIV, wgconf.PRIVATE_KEY_PLACEHOLDER)
    with pytest.raises(errors.TunnelError):
        TunnelConfig.from_text("nexavpn", text)


def test_parse_dump_drops_interface_line():
    peers = parse_wg_dump(DUMP)
    assert len(peers) == 1
    p = peers[0]
    assert p.public_key == GW and p.allowed_ips == ("10.8.0.1/32", "10.20.0.0/24")
    assert (p.latest_handshake, p.rx_bytes, p.tx_bytes, p.persistent_keepalive) == (
        1700000000, 1200, 3400, 25)
    status = status_from_dump("linux", DUMP, now=1700000010)
    assert status.handshake_age == 10 and status.rx_bytes == 1200 and status.tx_bytes == 3400
    assert PRIV not in repr(status)


def test_parse_dump_fixture_files():
    for path in sorted((FIXTURES / "wg").glob("dump_*.txt")):
        peers = parse_wg_dump(path.read_text())
        for p in peers:
            assert keys.is_valid_key(p.public_key)


def test_command_result_repr_hides_stdout():
    assert PRIV not in repr(CommandResult(("wg", "show"), 0, DUMP, ""))


# ------------------------------------------------------------------ Linux


def _linux(runner, **kw):
    kw.setdefault("platform", "linux")
    kw.setdefault("which", lambda tool: f"/usr/bin/{tool}" if tool != "resolvectl" else None)
    kw.setdefault("net_admin", lambda: True)
    kw.setdefault("sleep", lambda s: None)
    return LinuxBackend(runner, **kw)


def test_linux_connect_split_tunnel_exact_commands():
    runner = RecordingRunner()
    runner.on(["ip", "link", "show"], (1, "", 'Device "nexavpn" does not exist.'))
    cfg = _config()
    _linux(runner).connect(cfg)
    assert runner.argvs == [
        ["ip", "link", "show", "dev", "nexavpn"],
        ["ip", "link", "add", "dev", "nexavpn", "type", "wireguard"],
        ["wg", "setconf", "nexavpn", "/dev/stdin"],
        ["ip", "-4", "address", "add", "10.8.0.7/32", "dev", "nexavpn"],
        ["ip", "link", "set", "mtu", "1400", "up", "dev", "nexavpn"],
        ["ip", "-4", "route", "replace", "10.8.0.1/32", "dev", "nexavpn"],
        ["ip", "-4", "route", "replace", "10.20.0.0/24", "dev", "nexavpn"],
    ]
    # The key went through stdin only, never into an argument.
    assert runner.inputs[2] == cfg.setconf_text()
    assert all(PRIV not in " ".join(a) for a in runner.argvs)


def test_linux_full_tunnel_uses_fwmark_policy_routing():
    runner = RecordingRunner()
    runner.on(["ip", "link", "show"], (1, "", "no such device"))
    _linux(runner).connect(_config(allowed=("0.0.0.0/0",)))
    argvs = runner.argvs[3:]
    assert ["wg", "set", "nexavpn", "fwmark", "51820"] in argvs
    assert ["ip", "-4", "route", "replace", "0.0.0.0/0", "dev", "nexavpn", "table",
            "51820"] in argvs
    assert ["ip", "-4", "rule", "add", "not", "fwmark", "51820", "table", "51820"] in argvs
    assert ["ip", "-4", "rule", "add", "table", "main", "suppress_prefixlength", "0"] in argvs
    assert ["ip", "-4", "route", "replace", "0.0.0.0/0", "dev", "nexavpn"] not in argvs


def test_linux_falls_back_to_wireguard_go():
    runner = RecordingRunner()
    shows = iter([(1, "", "nope"), (1, "", "nope"), (0, "", "")])
    runner.on(["ip", "link", "show"], lambda argv, inp: next(shows, (0, "", "")))
    runner.on(["ip", "link", "add"], (2, "", "Error: Unknown device type."))
    _linux(runner).connect(_config())
    assert runner.argvs[1:5] == [
        ["ip", "link", "add", "dev", "nexavpn", "type", "wireguard"],
        ["wireguard-go", "nexavpn"],
        ["ip", "link", "show", "dev", "nexavpn"],
        ["ip", "link", "show", "dev", "nexavpn"],
    ]


def test_linux_userspace_never_reports_kernel_error():
    runner = RecordingRunner()
    runner.on(["ip", "link", "show"], (1, "", "nope"))
    runner.on(["ip", "link", "add"], (2, "", "Error: Unknown device type."))
    with pytest.raises(errors.CommandFailed, match="Unknown device type"):
        _linux(runner, userspace="never").connect(_config())


def test_linux_failure_midway_cleans_up():
    runner = RecordingRunner()
    state = {"exists": False}

    def show(argv, inp):
        return (0, "", "") if state["exists"] else (1, "", "nope")

    def add(argv, inp):
        state["exists"] = True

    runner.on(["ip", "link", "show"], show)
    runner.on(["ip", "link", "add"], add)
    runner.on(["ip", "-4", "address", "add"], (2, "", "RTNETLINK answers: Permission denied"))
    with pytest.raises(errors.CommandFailed, match="Permission denied"):
        _linux(runner).connect(_config())
    assert runner.argvs[-1] == ["ip", "link", "delete", "dev", "nexavpn"]


def test_linux_disconnect_and_status():
    runner = RecordingRunner()
    runner.on(["wg", "show"], (0, DUMP, ""))
    backend = _linux(runner)
    status = backend.status("nexavpn")
    assert status.state == CONNECTED and status.rx_bytes == 1200
    backend.disconnect("nexavpn")
    assert runner.argvs[-1] == ["ip", "link", "delete", "dev", "nexavpn"]
    assert ["ip", "-4", "rule", "delete", "table", "51820"] in runner.argvs
    runner2 = RecordingRunner().on(["ip", "link", "show"], (1, "", "nope"))
    assert _linux(runner2).status("nexavpn").state == DISCONNECTED


def test_linux_dns_with_resolvectl():
    runner = RecordingRunner()
    runner.on(["ip", "link", "show"], (1, "", "nope"))
    _linux(runner, which=lambda t: f"/usr/bin/{t}").connect(_config())
    assert ["resolvectl", "dns", "nexavpn", "10.8.0.1"] in runner.argvs


def test_linux_install_updates_running_tunnel_in_place():
    runner = RecordingRunner()  # link show succeeds → exists
    _linux(runner).install(_config(allowed=("10.8.0.1/32", "10.30.0.0/24")))
    assert runner.argvs[1] == ["wg", "syncconf", "nexavpn", "/dev/stdin"]
    assert ["ip", "address", "flush", "dev", "nexavpn"] in runner.argvs
    assert ["ip", "-4", "route", "replace", "10.30.0.0/24", "dev", "nexavpn"] in runner.argvs
    assert ["ip", "link", "delete", "dev", "nexavpn"] not in runner.argvs


def test_linux_availability_reasons():
    r = RecordingRunner()
    assert _linux(r, platform="darwin").is_available()[0] is False
    ok, why = _linux(r, which=lambda t: None).is_available()
    assert not ok and "not installed" in why
    ok, why = _linux(r, net_admin=lambda: False).is_available()
    assert not ok and "CAP_NET_ADMIN" in why


# ------------------------------------------------------------------ Windows


def _windows(runner, tmp_path, **kw):
    kw.setdefault("platform", "win32")
    kw.setdefault("admin", lambda: True)
    kw.setdefault("exists", lambda p: p.startswith("C:\\Program Files\\WireGuard"))
    return WindowsBackend(runner, tmp_path / "tunnels", **kw)


SC_RUNNING = """
SERVICE_NAME: WireGuardTunnel$nexavpn
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 4  RUNNING
                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)
        WIN32_EXIT_CODE    : 0  (0x0)
"""
SC_MISSING = "[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\n"  # noqa: E501
WG_EXE = "C:\\Program Files\\WireGuard\\wireguard.exe"


def test_windows_connect_exact_commands(tmp_path):
    runner = RecordingRunner().on(["sc", "query"], (1060, SC_MISSING, ""))
    backend = _windows(runner, tmp_path)
    backend.connect(_config())
    conf = tmp_path / "tunnels" / "nexavpn.conf"
    assert runner.argvs == [
        ["sc", "query", "WireGuardTunnel$nexavpn"],
        [WG_EXE, "/installtunnelservice", str(conf)],
    ]
    assert PRIV in conf.read_text()
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600


def test_windows_status_running_and_stopped(tmp_path):
    runner = RecordingRunner().on(["sc", "query"], (0, SC_RUNNING, ""))
    runner.on(["C:\\Program Files\\WireGuard\\wg.exe"], (0, DUMP, ""))
    status = _windows(runner, tmp_path).status("nexavpn")
    assert status.state == CONNECTED and status.tx_bytes == 3400
    assert runner.argvs[-1] == ["C:\\Program Files\\WireGuard\\wg.exe", "show", "nexavpn", "dump"]
    r2 = RecordingRunner().on(["sc", "query"], (1060, SC_MISSING, ""))
    assert _windows(r2, tmp_path).status("nexavpn").state == DISCONNECTED
    assert parse_sc_state(SC_RUNNING) == "RUNNING"


def test_windows_disconnect_uninstalls_and_deletes_config(tmp_path):
    runner = RecordingRunner().on(["sc", "query"], (1060, SC_MISSING, ""))
    backend = _windows(runner, tmp_path)
    backend.connect(_config())
    runner.on(["sc", "query"], (0, SC_RUNNING, ""))
    backend.disconnect("nexavpn")
    assert runner.argvs[-1] == [WG_EXE, "/uninstalltunnelservice", "nexavpn"]
    assert not (tmp_path / "tunnels" / "nexavpn.conf").exists()


def test_windows_reconnect_replaces_running_service(tmp_path):
    runner = RecordingRunner().on(["sc", "query"], (0, SC_RUNNING, ""))
    _windows(runner, tmp_path).connect(_config())
    assert [a[1] for a in runner.argvs[1:]] == ["/uninstalltunnelservice",
                                                "/installtunnelservice"]


def test_windows_install_failure_is_explained_and_config_removed(tmp_path):
    runner = RecordingRunner().on(["sc", "query"], (1060, SC_MISSING, ""))
    runner.on([WG_EXE, "/installtunnelservice"], (1, "", "Access is denied."))
    with pytest.raises(errors.TunnelError, match="administrator") as info:
        _windows(runner, tmp_path).connect(_config())
    assert "Access is denied." in info.value.stderr
    assert not (tmp_path / "tunnels" / "nexavpn.conf").exists()


def test_windows_availability(tmp_path):
    r = RecordingRunner()
    assert _windows(r, tmp_path).is_available() == (True, "WireGuard tunnel service")
    ok, why = _windows(r, tmp_path, admin=lambda: False).is_available()
    assert not ok and "administrator" in why
    ok, why = _windows(r, tmp_path, exists=lambda p: False, which=lambda n: None).is_available()
    assert not ok and "not installed" in why


# ------------------------------------------------------------------ macOS


def _mac(runner, tmp_path, helper, running=False):
    files = {"/opt/homebrew/bin/wg-quick"}
    if running:
        files.add("/var/run/wireguard/nexavpn.name")
    backend = MacOSBackend(
        runner, tmp_path / "my tunnels", helper=helper, platform="darwin",
        exists=lambda p: p in files or Path(p).exists(), read_text=lambda p: "utun7\n",
    )
    return backend


def test_macos_sudo_helper_exact_command(tmp_path):
    runner = RecordingRunner()
    backend = _mac(runner, tmp_path, SudoHelper())
    backend.connect(_config())
    conf = str(tmp_path / "my tunnels" / "nexavpn.conf")
    # The sudoers rule names exactly the tunnel helper, never /usr/bin/env or wg-quick (a
    # config's PostUp would run as root): the helper is the whole privileged command.
    assert runner.argvs == [[
        "sudo", "-n", "--", "/usr/local/libexec/nexavpn-tunnel-helper", "up", conf,
    ]]
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600


def test_macos_osascript_quotes_safely(tmp_path):
    helper = OsascriptHelper()
    argv = helper.wrap(["/opt/homebrew/bin/wg-quick", "up", '/Users/a b/x"; rm -rf ~ \'q\'.conf'])
    assert argv[:2] == ["osascript", "-e"] and len(argv) == 3
    script = argv[2]
    assert script.startswith('do shell script "') and script.endswith(
        '" with administrator privileges')
    inner = script[len('do shell script "'):-len('" with administrator privileges')]
    # Undo the AppleScript escaping, then the shell must see exactly the three arguments.
    import shlex
    unescaped = inner.replace('\\"', '"').replace("\\\\", "\\")
    assert shlex.split(unescaped) == [
        "/opt/homebrew/bin/wg-quick", "up", '/Users/a b/x"; rm -rf ~ \'q\'.conf']
    with pytest.raises(errors.TunnelError):
        helper.wrap(["wg-quick", "up", "a\nb"])


def test_macos_osascript_connect_and_disconnect(tmp_path):
    runner = RecordingRunner()
    backend = _mac(runner, tmp_path, OsascriptHelper())
    backend.connect(_config())
    assert runner.argvs[0][0] == "osascript"
    assert "wg-quick up" in runner.argvs[0][2]
    running = _mac(runner, tmp_path, OsascriptHelper(), running=True)
    assert running.status("nexavpn").state == CONNECTED
    running.disconnect("nexavpn")
    assert "wg-quick down" in runner.argvs[-1][2]
    assert not (tmp_path / "my tunnels" / "nexavpn.conf").exists()


def test_macos_failure_carries_stderr(tmp_path):
    runner = RecordingRunner().on(["osascript"], (1, "", "User canceled. (-128)"))
    with pytest.raises(errors.TunnelError, match="User canceled") as info:
        _mac(runner, tmp_path, OsascriptHelper()).connect(_config())
    assert "-128" in info.value.stderr


def test_macos_status_with_sudo_reads_dump(tmp_path):
    runner = RecordingRunner().on(["sudo"], (0, DUMP, ""))
    status = _mac(runner, tmp_path, SudoHelper(), running=True).status("nexavpn")
    assert status.state == CONNECTED and status.rx_bytes == 1200
    assert runner.argvs[-1] == [
        "sudo", "-n", "--", "/usr/local/libexec/nexavpn-tunnel-helper", "show", "utun7"]


# ------------------------------------------------------------------ handoff + factory


@pytest.mark.parametrize(
    ("plat", "expected"),
    [
        ("darwin", [["open", "-a", "WireGuard", "{p}"]]),
        ("linux", [["nmcli", "connection", "delete", "nexavpn"],
                   ["nmcli", "connection", "import", "type", "wireguard", "file", "{p}"]]),
        ("win32", [["wireguard.exe"], ["explorer.exe", "/select,{p}"]]),
    ],
)
def test_handoff_commands(tmp_path, plat, expected):
    runner = RecordingRunner()
    backend = HandoffBackend(runner, tmp_path / "export", platform=plat,
                             which=lambda t: "/usr/bin/" + t, exists=lambda p: False)
    backend.connect(_config())
    path = str(tmp_path / "export" / "nexavpn.conf")
    assert runner.argvs == [[a.replace("{p}", path) for a in argv] for argv in expected]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert backend.status("nexavpn").state == HANDED_OFF
    backend.remove("nexavpn")
    assert not Path(path).exists()


def test_handoff_without_app_keeps_file_and_says_so(tmp_path):
    backend = HandoffBackend(RecordingRunner(), tmp_path / "x", platform="linux",
                             which=lambda t: None)
    with pytest.raises(errors.TunnelError, match="temporary fallback"):
        backend.connect(_config())
    assert (tmp_path / "x" / "nexavpn.conf").exists()


def test_handoff_open_failure(tmp_path):
    runner = RecordingRunner().on(["open"], (1, "", "Unable to find application named 'WireGuard'"))
    backend = HandoffBackend(runner, tmp_path / "x", platform="darwin")
    with pytest.raises(errors.TunnelError, match="import it by hand"):
        backend.connect(_config())


def test_factory_prefers_native_then_handoff(tmp_path, monkeypatch):
    monkeypatch.delenv("NEXAVPN_CLIENT_TUNNEL_BACKEND", raising=False)
    # Windows with no WireGuard installed here → the handoff.
    backend = choose_backend(tmp_path, RecordingRunner(), platform="win32")
    assert backend.name == "handoff"
    backend = choose_backend(tmp_path, RecordingRunner(), platform="darwin")
    assert backend.name in ("macos", "handoff")
    monkeypatch.setenv("NEXAVPN_CLIENT_TUNNEL_BACKEND", "handoff")
    assert choose_backend(tmp_path, RecordingRunner(), platform="linux").name == "handoff"
    monkeypatch.setenv("NEXAVPN_CLIENT_TUNNEL_BACKEND", "windows")
    with pytest.raises(errors.BackendUnavailable):
        choose_backend(tmp_path, RecordingRunner(), platform="linux")


def test_factory_on_this_linux_box(tmp_path, monkeypatch):
    monkeypatch.delenv("NEXAVPN_CLIENT_TUNNEL_BACKEND", raising=False)
    backend = choose_backend(tmp_path, RecordingRunner(), platform="linux")
    ok, _ = LinuxBackend(RecordingRunner(), platform="linux").is_available()
    assert backend.name == ("linux" if ok else "handoff")


# ------------------------------------------------------------------ honest state per backend


def _dump_with_handshake(ts: int) -> str:
    gw = keys.generate_keypair().public_key
    own = keys.generate_keypair()
    return (f"{own.private_key}\t{own.public_key}\t0\toff\n"
            f"{gw}\t(none)\t198.51.100.7:51820\t10.20.0.0/24\t{ts}\t100\t200\t25\n")


@pytest.mark.parametrize("age", [10, 600])
def test_windows_state_follows_handshake_age(tmp_path, age):
    import time as _time

    from nexavpn_client.connstate import ConnectionKind, tunnel_kind

    runner = RecordingRunner().on(["sc", "query"], (0, SC_RUNNING, ""))
    runner.on([WG_EXE.replace("wireguard.exe", "wg.exe")],
              (0, _dump_with_handshake(int(_time.time()) - age), ""))
    status = _windows(runner, tmp_path).status("nexavpn")
    kind, since, _ = tunnel_kind(status, started_at=None)
    assert kind is (ConnectionKind.CONNECTED if age == 10 else ConnectionKind.NO_HANDSHAKE)
    if age == 600:
        assert abs(_time.time() - age - since) < 5


def test_windows_without_statistics_is_not_claimed_fresh(tmp_path):
    from nexavpn_client.connstate import ConnectionKind, ConnectionState, tunnel_kind

    runner = RecordingRunner().on(["sc", "query"], (0, SC_RUNNING, ""))
    runner.on([WG_EXE.replace("wireguard.exe", "wg.exe")], (1, "", "access denied"))
    status = _windows(runner, tmp_path).status("nexavpn")
    kind, _since, verified = tunnel_kind(status, started_at=None)
    assert kind is ConnectionKind.CONNECTED and verified is False
    assert ConnectionState(kind, verified=verified).text == "Connected (handshake not visible)"


def test_macos_state_from_dump_and_without_helper(tmp_path):
    import time as _time

    from nexavpn_client.connstate import ConnectionKind, tunnel_kind

    runner = RecordingRunner().on(["sudo"], (0, _dump_with_handshake(int(_time.time()) - 400), ""))
    status = _mac(runner, tmp_path, SudoHelper(), running=True).status("nexavpn")
    assert tunnel_kind(status, started_at=None)[0] is ConnectionKind.NO_HANDSHAKE
    quiet = _mac(RecordingRunner(), tmp_path, OsascriptHelper(), running=True).status("nexavpn")
    kind, _since, verified = tunnel_kind(quiet, started_at=None)
    assert kind is ConnectionKind.CONNECTED and not verified
