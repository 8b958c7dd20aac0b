"""Secret storage against a real Secret Service (gnome-keyring in a private D-Bus session)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nexavpn_client.app import ClientApp
from nexavpn_client.cli import main
from nexavpn_client.secrets import KeyringStore
from nexavpn_client.secrets.base import SecretKey

from .conftest import SERVER, FakeTunnel
from .fakeserver import FakeServer

pytestmark = pytest.mark.keyring
SERVICE = "nexavpn-client-test"


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory):
    """A session bus + gnome-keyring-daemon (secrets component, unlocked with '')."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    home = tmp_path_factory.mktemp("krhome")
    run = home / "run"
    run.mkdir(mode=0o700)
    env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "data"),
               XDG_RUNTIME_DIR=str(run))
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    keyring_daemon = None
    try:
        address = bus.stdout.readline().strip()
        assert address.startswith("unix:"), "dbus-daemon gave no address"
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        keyring_daemon.stdin.write(b"\n")  # the (empty) login keyring password
        keyring_daemon.stdin.close()
        saved = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "HOME",
                                                "XDG_DATA_HOME", "XDG_RUNTIME_DIR")}
        os.environ.update({k: env[k] for k in saved})
        from keyring.backends import SecretService

        backend = SecretService.Keyring()
        deadline = time.monotonic() + 10
        while True:
            try:
                backend.set_password(SERVICE, "probe", "1")
                backend.delete_password(SERVICE, "probe")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield backend, env
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    finally:
        for proc in (keyring_daemon, bus):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture
def store(secret_service):
    backend, _ = secret_service
    s = KeyringStore(SERVICE, backend=backend)
    yield s
    for key in SecretKey:
        s.delete(key)


def _items(backend) -> list[str]:
    """Labels of every item our service has in the real keyring."""
    import secretstorage

    conn = secretstorage.dbus_init()
    try:
        coll = secretstorage.get_default_collection(conn)
        return [i.get_attributes().get("username", "")
                for i in coll.search_items({"service": SERVICE})]
    finally:
        conn.close()


def test_set_get_delete_roundtrip(store, secret_service):
    backend, _ = secret_service
    assert store.get("missing") is None
    store.set(SecretKey.ACCESS_TOKEN, "tok-ü-1")
    assert store.get(SecretKey.ACCESS_TOKEN) == "tok-ü-1"
    store.set(SecretKey.ACCESS_TOKEN, "tok-2")
    assert store.get(SecretKey.ACCESS_TOKEN) == "tok-2"
    # A fresh connection (another "run" of the app) sees the same value.
    assert KeyringStore(SERVICE).get(SecretKey.ACCESS_TOKEN) == "tok-2"
    assert "access_token" in _items(backend)
    store.delete(SecretKey.ACCESS_TOKEN)
    store.delete(SecretKey.ACCESS_TOKEN)  # idempotent
    assert store.get(SecretKey.ACCESS_TOKEN) is None
    assert "access_token" not in _items(backend)


def test_full_flow_with_real_keyring(store, secret_service, tmp_path):
    backend, _ = secret_service
    server = FakeServer()
    tunnel = FakeTunnel()

    def make():
        return ClientApp(store, tmp_path / "data", transport=server, backend=tunnel,
                         platform="linux", fingerprint=lambda s: "e" * 64)

    app = make()
    app.login(SERVER, "alice", "correct horse")
    app.enroll("Laptop")
    names = set(_items(backend))
    assert {"server_url", "access_token", "refresh_token", "device_private_key",
            "profile_key"} <= names
    # A new app instance (next CLI run) decrypts the profile with the key from the keyring.
    again = make()
    assert again.status().vpn_ip == "10.8.0.2"
    assert again.tunnel_config().text.count("PrivateKey") == 1
    assert again.sync().changed is False
    again.logout()
    assert _items(backend) == []


def test_cli_subprocess_picks_keyring_and_state_dir_from_env(store, secret_service, tmp_path):
    _, env = secret_service
    server = FakeServer()
    data = tmp_path / "state"
    app = ClientApp(store, data, transport=server, backend=FakeTunnel(), platform="linux",
                    fingerprint=lambda s: "d" * 64)
    app.login(SERVER, "alice", "correct horse")
    app.enroll("Laptop")
    real = KeyringStore(SERVICE)
    try:
        child_env = dict(env, NEXAVPN_CLIENT_STATE_DIR=str(data),
                         NEXAVPN_CLIENT_KEYRING_SERVICE=SERVICE,
                         PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring",
                         NEXAVPN_CLIENT_TUNNEL_BACKEND="handoff")
        result = subprocess.run(
            [sys.executable, "-m", "nexavpn_client.cli", "status", "--json"],
            capture_output=True, text=True, env=child_env, timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["server"] == SERVER and doc["vpn_ip"] == "10.8.0.2"
        assert doc["tunnel_backend"] == "handoff" and doc["enrolled"] is True
        # In-process main() with the same env: logout removes everything from the keyring.
        code = main(["logout"], app=ClientApp(real, data, transport=server,
                                              backend=FakeTunnel(), platform="linux"))
        assert code == 0
        assert all(real.get(k) is None for k in SecretKey if k != SecretKey.MACHINE_ID)
        assert not Path(data / "state.bin").exists()
    finally:
        for key in SecretKey:
            real.delete(key)


_PROBE = """
import sys
from keyring.backends import SecretService
from nexavpn_client import errors
from nexavpn_client.secrets import KeyringStore
try:
    KeyringStore(service="probe", backend=SecretService.Keyring()).set("a", "b")
    print("STORED")
except errors.StorageError as exc:
    print(exc.message)
"""


@pytest.mark.parametrize("with_daemon", [True, False], ids=["fresh-home", "no-secret-service"])
def test_keyring_failure_names_the_real_cause(tmp_path, with_daemon):
    """A fresh HOME (no default collection, no prompter) and a bus without Secret Service."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_RUNTIME_DIR=str(run))
    # Without the daemon, a bus that cannot auto-start one either (no service directories).
    config = tmp_path / "bus.conf"
    config.write_text(
        "<busconfig><type>session</type>"
        f"<listen>unix:dir={run}</listen>"
        "<policy context='default'><allow send_destination='*' eavesdrop='true'/>"
        "<allow eavesdrop='true'/><allow own='*'/></policy></busconfig>")
    bus_args = ["--session"] if with_daemon else [f"--config-file={config}"]
    bus = subprocess.Popen(["dbus-daemon", *bus_args, "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    daemon = None
    try:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        if with_daemon:  # started, never unlocked: no login keyring exists in this HOME
            daemon = subprocess.Popen(
                ["gnome-keyring-daemon", "--components=secrets", "--foreground"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=env)
            time.sleep(0.5)
        out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                             text=True, timeout=60).stdout
    finally:
        for proc in (daemon, bus):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    assert "STORED" not in out
    if with_daemon:
        assert "no default keyring yet" in out, out
    else:
        assert "no keyring service is running" in out, out
