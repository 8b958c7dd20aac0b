"""The desktop client as users get it: the Linux PyInstaller bundle and its .deb, for real.

Built once per module by packaging/desktop/build-linux.sh into a temp dir. Then, from the
bundle only (clean environment: no virtualenv on PATH): both programs print their version,
the window comes up offscreen, and the bundled CLI signs in, enrolls and reports a VPN IP
against a real `nexavpn-server serve --self-signed` on 127.0.0.1, keeping its secrets in a
real Secret Service (gnome-keyring in a private D-Bus session); afterwards the bundled GUI
reads that state and opens the connected view. The .deb is checked for its payload, its
launchers (run from the extracted package) and that apt resolves its dependencies.

The fast tests at the end lint the other platforms' build sources, which cannot be built here:
the GitHub workflow (runners, steps, artifacts), the Inno Setup script (WireGuard check,
start-menu entry), the macOS script (signing and notarisation inputs) and shellcheck.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "packaging" / "desktop"
BUILD = DESKTOP / "build-linux.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "desktop.yml"
VENV_BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "bundle smoke horse battery staple"
USER_PASSWORD = "bundle user correct horse"
MAX_BUNDLE_MB = 250  # measured 158 MB; a Qt module or plugin set slipping back in shows here
MAX_DEB_MB = 90  # measured 57 MB (zstd -9)

slow = pytest.mark.slow
pytestmark = pytest.mark.timeout(900)  # the module's first test waits for the ~1 min build


def _version() -> str:
    from nexavpn_desktop import __version__

    return __version__


def _why_skip_build() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the Linux bundle is built on Linux only"
    try:
        import PyInstaller  # noqa: F401
        import PySide6  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[packaging]')"
    for tool in ("dpkg-deb", "dpkg", "ldd"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (not a Debian-like machine)"
    return None


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a user's session has: no virtualenv, no PYTHONPATH; HOME and XDG dirs in tmp."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    env.update(extra)
    return env


class Built:
    """What build-linux.sh made, and how long it took."""

    def __init__(self, bundle: Path, deb: Path, seconds: float) -> None:
        self.bundle = bundle
        self.deb = deb
        self.seconds = seconds
        self.gui = bundle / "nexavpn-desktop"
        self.cli = bundle / "nexavpn-client"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    why = _why_skip_build()
    if why:
        pytest.skip(why)
    out = tmp_path_factory.mktemp("desktop-out")
    env = dict(os.environ, NEXAVPN_PKG_OUT=str(out), NEXAVPN_BUILD_PYTHON=sys.executable)
    t0 = time.monotonic()
    res = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=900,
                         env=env)
    seconds = round(time.monotonic() - t0, 1)
    assert res.returncode == 0, f"build failed:\n{res.stderr[-4000:]}"
    lines = res.stdout.split()
    bundle, deb = Path(lines[0]), Path(lines[1])
    assert bundle.is_dir() and deb.is_file(), res.stdout
    size = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"\ndesktop bundle: built in {seconds} s; bundle {size / 1e6:.0f} MB, "
          f".deb {deb.stat().st_size / 1e6:.0f} MB")
    return Built(bundle, deb, seconds)


# ------------------------------------------------------------------ the bundle itself


@slow
def test_both_programs_print_the_version(built, tmp_path):
    env = _clean_env(tmp_path)
    for exe, name in ((built.gui, "nexavpn-desktop"), (built.cli, "nexavpn-client")):
        res = subprocess.run([str(exe), "--version"], capture_output=True, text=True,
                             timeout=60, env=env, stdin=subprocess.DEVNULL)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == f"{name} {_version()}"


@slow
def test_bundle_is_self_contained_and_lean(built):
    internal = built.bundle / "_internal"
    names = {p.name for p in internal.rglob("*")}
    # Python and the Qt parts the app uses are inside; nothing from the venv is needed.
    assert any(n.startswith("libpython3") for n in names)
    for lib in ("libQt6Core.so.6", "libQt6Gui.so.6", "libQt6Widgets.so.6", "libqxcb.so",
                "libqoffscreen.so", "libqwayland.so"):
        assert lib in names, f"{lib} is missing from the bundle"
    # Unused Qt modules, the GTK theme (and GTK with it), and server code are left out.
    for lib in ("libQt6Network.so.6", "libQt6Qml.so.6", "libQt6Pdf.so.6", "libqgtk3.so",
                "libgtk-3.so.0", "libqvnc.so"):
        assert lib not in names, f"{lib} should not be bundled"
    assert not any(n.startswith(("flask", "sqlalchemy", "nexavpn_api", "gunicorn"))
                   for n in names)
    size = sum(f.stat().st_size for f in built.bundle.rglob("*") if f.is_file())
    assert size < MAX_BUNDLE_MB * 1e6, f"bundle is {size / 1e6:.0f} MB"
    assert built.deb.stat().st_size < MAX_DEB_MB * 1e6


@slow
def test_window_starts_offscreen_and_quits_by_itself(built, tmp_path):
    env = _clean_env(tmp_path, QT_QPA_PLATFORM="offscreen",
                     NEXAVPN_CLIENT_STATE_DIR=str(tmp_path / "state"),
                     PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
                     NEXAVPN_CLIENT_TUNNEL_BACKEND="handoff")
    t0 = time.monotonic()
    res = subprocess.run([str(built.gui), "--quit-after", "3"], capture_output=True, text=True,
                         timeout=90, env=env, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    assert time.monotonic() - t0 >= 3
    line = next(ln for ln in res.stdout.splitlines() if "self-test:" in ln)
    assert "visible=True" in line and "title='NexaVPN'" in line, line
    assert "platform=offscreen" in line and "view=SignInView" in line, line
    # The app logged to the per-user log dir of the (temp) home.
    assert list(tmp_path.rglob("nexavpn-desktop.log"))


# ------------------------------------------------------------------ against a real server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def secret_service(tmp_path) -> Iterator[dict[str, str]]:
    """A private session bus with gnome-keyring (secrets, unlocked with an empty password)."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/install-system-deps.sh)")
    home = tmp_path / "home"
    run = tmp_path / "run"
    home.mkdir()
    run.mkdir(mode=0o700)
    env = _clean_env(home, XDG_RUNTIME_DIR=str(run))
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    daemon = None
    try:
        address = bus.stdout.readline().strip()
        assert address.startswith("unix:"), "dbus-daemon gave no address"
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        daemon.stdin.write(b"\n")
        daemon.stdin.close()
        yield env
    finally:
        for proc in (daemon, bus):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()


class LocalServer:
    """`nexavpn-server serve --self-signed` from the venv, on a free loopback port."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = _free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.env = dict(os.environ, NEXAVPN_DATA_DIR=str(data))
        for key in [k for k in self.env if k.startswith("NEXAVPN_") and k != "NEXAVPN_DATA_DIR"]:
            self.env.pop(key)  # e.g. a test database URL meant for another suite
        self.log = data / "serve.log"
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        res = subprocess.run([str(VENV_BIN / "nexavpn-server"), *args], capture_output=True,
                             text=True, timeout=120, env=self.env, input=input)
        assert res.returncode == 0, f"nexavpn-server {args[0]}: {res.stderr}"
        return res

    def start(self) -> str:
        """Start and wait for health; returns the fingerprint the server printed."""
        import requests

        self.data.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "nexavpn-server"), "serve", "--host", "127.0.0.1", "--port",
                 str(self.port), "--self-signed", "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        cert = self.data / "tls" / "server.crt"
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            if cert.exists():
                try:
                    r = requests.get(f"{self.url}/api/v1/health", verify=str(cert), timeout=5)
                    if r.status_code == 200:
                        break
                except requests.RequestException:
                    pass
            assert time.monotonic() < deadline, "server did not come up:\n" + self.log.read_text()
            time.sleep(0.3)
        m = re.search(r"fingerprint: ([0-9A-F:]{95})", self.log.read_text())
        assert m, self.log.read_text()
        return m.group(1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[LocalServer, str]]:
    """A running server with an admin, user `u` (group eng), an online gateway and a policy."""
    import requests

    from nexavpn_shared import keys

    srv = LocalServer(tmp_path / "server")
    srv.data.mkdir()
    srv.cli("migrate")
    srv.cli("create-admin", "--username", "admin", "--password-stdin",
            input=ADMIN_PASSWORD + "\n")
    try:
        fingerprint = srv.start()
        cert = str(srv.data / "tls" / "server.crt")
        # verify= on each call: a Session's verify loses to $REQUESTS_CA_BUNDLE.
        api = requests.Session()

        def call(method: str, path: str, token: str, body: dict) -> dict:
            r = api.request(method, f"{srv.url}/api/v1{path}", json=body, timeout=15,
                            verify=cert, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code in (200, 201, 204), (path, r.status_code, r.text)
            return r.json() if r.content else {}

        r = api.post(f"{srv.url}/api/v1/auth/login", timeout=15, verify=cert,
                     json={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        admin = r.json()["access_token"]
        call("POST", "/users", admin, {"username": "u", "password": USER_PASSWORD,
                                       "email": "u@example.test", "role": "user",
                                       "groups": ["eng"]})
        gw = call("POST", "/gateways", admin, {
            "name": "gw-bundle", "endpoint": "vpn.example.test:51820",
            "vpn_cidr": "10.77.0.0/24", "dns": ["10.77.0.1"], "mtu": 1420})
        call("POST", "/gateway-agent/heartbeat", gw["agent_token"], {
            "public_key": keys.generate_keypair().public_key, "listen_port": 51820,
            "peers": []})
        call("POST", "/policies", admin, {
            "name": "eng", "description": "", "enabled": True, "user_ids": [],
            "groups": ["eng"], "destinations": ["10.20.0.0/24"]})
        yield srv, fingerprint
    finally:
        srv.stop()


@slow
@pytest.mark.keyring
def test_bundled_cli_signs_in_and_enrolls_then_gui_shows_it(built, server, secret_service,
                                                            tmp_path):
    srv, printed_fp = server
    # The fingerprint users compare: what serve printed equals the certificate's own digest.
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate((srv.data / "tls" / "server.crt").read_bytes())
    digest = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    assert printed_fp.replace(":", "").lower() == digest

    service = "nexavpn-bundle-" + secrets.token_hex(4)
    state = tmp_path / "client-state"
    env = dict(secret_service, NEXAVPN_CLIENT_STATE_DIR=str(state),
               NEXAVPN_CLIENT_KEYRING_SERVICE=service,
               PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring",
               NEXAVPN_CLIENT_TUNNEL_BACKEND="handoff")

    def client(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(built.cli), *args], capture_output=True, text=True,
                              timeout=120, env=env, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)

    # The Secret Service may need a moment after the daemon started.
    deadline = time.monotonic() + 15
    while True:
        res = client("login", "--server", srv.url, "--username", "u", "--password-stdin",
                     "--trust-fingerprint", printed_fp, input=USER_PASSWORD + "\n")
        if res.returncode != 1 or time.monotonic() > deadline:  # 1 = local (keyring) failure
            break
        time.sleep(0.5)
    assert res.returncode == 0, res.stdout + res.stderr

    # A wrong pin is refused by the bundled TLS stack (exit 3: server/TLS error).
    other = dict(env, NEXAVPN_CLIENT_STATE_DIR=str(tmp_path / "other"),
                 NEXAVPN_CLIENT_KEYRING_SERVICE=service + "-x")
    bad = subprocess.run([str(built.cli), "login", "--server", srv.url, "--username", "u",
                          "--password-stdin", "--trust-fingerprint", "ab" * 32],
                         capture_output=True, text=True, timeout=60, env=other,
                         input=USER_PASSWORD + "\n")
    assert bad.returncode == 3, bad.stdout + bad.stderr

    res = client("enroll", "--name", "bundle-laptop")
    assert res.returncode == 0, res.stdout + res.stderr
    res = client("status", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["enrolled"] is True and doc["logged_in"] is True and doc["user"] == "u"
    assert doc["device_name"] == "bundle-laptop"
    assert doc["vpn_ip"] and doc["vpn_ip"].split("/")[0].startswith("10.77.0.")
    assert doc["tunnel_backend"] == "handoff"
    assert [r["destination"] for r in doc["allowed_resources"]] == ["10.20.0.0/24"]
    # Secrets went to the keyring, not to files: nothing in the state dir holds the tokens.
    for f in state.rglob("*"):
        if f.is_file():
            assert b"PrivateKey" not in f.read_bytes()

    # The bundled GUI reads the same keyring and state: it opens the connected view.
    gui_env = dict(env, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([str(built.gui), "--quit-after", "4"], capture_output=True, text=True,
                         timeout=90, env=gui_env, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    line = next(ln for ln in res.stdout.splitlines() if "self-test:" in ln)
    assert "view=ConnectedView" in line, line

    res = client("logout")
    assert res.returncode == 0, res.stdout + res.stderr


# ------------------------------------------------------------------ the .deb


@slow
def test_deb_payload_launchers_and_dependencies(built, tmp_path):
    info = subprocess.run(["dpkg-deb", "--field", str(built.deb), "Package", "Version",
                           "Depends"], capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    fields = dict(line.split(": ", 1) for line in info.stdout.splitlines())
    assert fields["Package"] == "nexavpn-desktop"
    assert fields["Version"] == f"{_version()}-1"
    depends = [d.strip().split(" ")[0] for d in fields["Depends"].split(",")]
    assert {"libc6", "wireguard-tools", "iproute2", "libxcb1"} <= set(depends)

    root = tmp_path / "root"
    res = subprocess.run(["dpkg-deb", "-x", str(built.deb), str(root)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    for rel in ("opt/nexavpn/desktop/nexavpn-desktop", "opt/nexavpn/desktop/nexavpn-client",
                "usr/share/icons/hicolor/256x256/apps/nexavpn.png"):
        assert (root / rel).is_file(), rel
    desktop_entry = (root / "usr/share/applications/org.nexavpn.Desktop.desktop").read_text()
    assert "Exec=/usr/bin/nexavpn-desktop" in desktop_entry and "Icon=nexavpn" in desktop_entry
    if shutil.which("desktop-file-validate"):
        res = subprocess.run(["desktop-file-validate",
                              str(root / "usr/share/applications/org.nexavpn.Desktop.desktop")],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stdout
    # The /usr/bin launchers are relative links into /opt: they work from the unpacked tree.
    for name in ("nexavpn-client", "nexavpn-desktop"):
        link = root / "usr" / "bin" / name
        assert link.is_symlink() and not os.path.isabs(os.readlink(link))
        res = subprocess.run([str(link), "--version"], capture_output=True, text=True,
                             timeout=60, env=_clean_env(tmp_path))
        assert res.returncode == 0 and res.stdout.strip() == f"{name} {_version()}", res.stderr

    # Every library the bundle takes from the system belongs to a package the .deb depends on.
    internal = root / "opt/nexavpn/desktop/_internal"
    libdirs = f"{internal}:{internal}/PySide6/Qt/lib"
    files = [str(p) for p in (root / "opt/nexavpn/desktop").rglob("*")
             if p.is_file() and (".so" in p.name or p.name.startswith("nexavpn-"))]
    ldd = subprocess.run(["ldd", *files], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, LD_LIBRARY_PATH=libdirs))
    assert "not found" not in ldd.stdout, [ln for ln in ldd.stdout.splitlines()
                                           if "not found" in ln]
    outside = sorted({m.group(1) for m in re.finditer(r"=> (/\S+)", ldd.stdout)
                      if not m.group(1).startswith(str(root))})
    assert outside, "expected some system libraries (libc at least)"
    for lib in outside:
        owners = set()
        real = os.path.realpath(lib)
        for cand in (lib, "/usr" + lib, real, "/usr" + real):
            res = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True,
                                 timeout=30)
            if res.returncode == 0:
                owners = {o.strip() for o in res.stdout.split(":")[0].split(",")}
                break
        assert owners & set(depends), f"{lib} (from {owners}) is not in Depends"

    # apt can resolve the dependencies (simulation only: nothing is installed).
    if shutil.which("apt-get"):
        res = subprocess.run(["apt-get", "-s", "-q", "install", str(built.deb)],
                             capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        assert res.returncode == 0, res.stdout + res.stderr
        assert re.search(r"^Inst nexavpn-desktop ", res.stdout, re.M), res.stdout


# ------------------------------------------------------------------ sources for other platforms


def _workflow() -> dict:
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the bare key `on` as True.
    if True in doc and "on" not in doc:
        doc["on"] = doc.pop(True)
    return doc


def test_workflow_builds_each_platform_on_its_own_runner():
    doc = _workflow()
    assert {"push", "pull_request", "workflow_dispatch"} <= set(doc["on"])
    jobs = doc["jobs"]
    want = {"linux": "ubuntu-latest", "windows": "windows-latest", "macos": "macos-latest"}
    assert set(want) <= set(jobs)
    for job, runner in want.items():
        steps = jobs[job]["steps"]
        assert jobs[job]["runs-on"] == runner
        assert steps[0]["uses"].startswith("actions/checkout@")
        setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
        assert str(setup["with"]["python-version"]) == "3.11"
        runs = "\n".join(s.get("run", "") for s in steps)
        assert re.search(r'pip install -e "\.\[packaging[],]', runs), job
        upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
        assert upload and upload[0]["with"]["path"], job
        for step in steps:
            assert "name" in step, f"{job}: unnamed step {step}"
            assert ("run" in step) != ("uses" in step), f"{job}: {step}"
    assert "build-linux.sh" in _runs(jobs["linux"])
    assert "build-windows.ps1" in _runs(jobs["windows"])
    assert jobs["windows"]["defaults"]["run"]["shell"] == "pwsh"
    assert "build-macos.sh" in _runs(jobs["macos"])
    # Signing secrets reach only the macOS job, and only through env (never echoed).
    mac_env = {k: v for s in jobs["macos"]["steps"] for k, v in (s.get("env") or {}).items()}
    for key in ("NEXAVPN_CODESIGN_ID", "NEXAVPN_TEAM_ID", "NEXAVPN_NOTARY_PROFILE"):
        assert key in mac_env and "secrets." in mac_env[key]
    for job in ("linux", "windows"):
        assert "secrets." not in json.dumps(jobs[job])


def _runs(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


def test_workflow_linux_job_runs_the_smoke_test():
    runs = _runs(_workflow()["jobs"]["linux"])
    assert "tests/packaging/test_desktop_bundle.py" in runs
    # The keyring part starts its own D-Bus session and gnome-keyring: both must be installed.
    assert "gnome-keyring" in runs and "dbus" in runs and "libxcb-cursor0" in runs


def test_shell_scripts_pass_shellcheck():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (scripts/install-system-deps.sh installs it)")
    scripts = [DESKTOP / "build-linux.sh", DESKTOP / "build-macos.sh"]
    res = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout
    for script in scripts:
        assert script.stat().st_mode & 0o111, f"{script} is not executable"


def test_inno_setup_script_installs_app_checks_wireguard_and_adds_start_menu():
    iss = (DESKTOP / "windows" / "nexavpn-desktop.iss").read_text()
    sections = set(re.findall(r"^\[(\w+)\]", iss, re.M))
    assert {"Setup", "Files", "Icons", "Run", "Code"} <= sections
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}", iss, re.M)
    assert re.search(r'^Source: "\{#BundleDir\}\\\*"; DestDir: "\{app\}".*recursesubdirs',
                     iss, re.M)
    # Start menu entry for the app; the CLI on PATH is an option.
    assert '#define AppExe "nexavpn-desktop.exe"' in iss
    assert re.search(r'^Name: "\{group\}\\NexaVPN"; Filename: "\{app\}\\\{#AppExe\}"', iss, re.M)
    # The WireGuard dependency: detected (registry / wireguard.exe) and offered when missing.
    assert "WireGuard" in iss and "function InitializeSetup" in iss
    assert "wireguard.exe" in iss.lower() and "download.wireguard.com" in iss
    assert "PrivilegesRequired=admin" in iss
    ps1 = (DESKTOP / "build-windows.ps1").read_text()
    assert "nexavpn-desktop.spec" in ps1 and "ISCC" in ps1 and "signtool" in ps1.lower()


def test_macos_script_takes_signing_and_notarisation_as_inputs():
    sh = (DESKTOP / "build-macos.sh").read_text()
    for key in ("NEXAVPN_CODESIGN_ID", "NEXAVPN_INSTALLER_ID", "NEXAVPN_TEAM_ID",
                "NEXAVPN_NOTARY_PROFILE"):
        assert key in sh
    for step in ("codesign", "--options runtime", "pkgbuild", "productbuild", "hdiutil",
                 "notarytool submit", "stapler staple", "--timestamp"):
        assert step in sh, step
    # Without an identity it builds unsigned and says so; it never hard-codes one.
    assert "Developer ID Application:" not in sh.replace('"Developer ID Application: …"', "")
    ent = (DESKTOP / "macos" / "entitlements.plist").read_text()
    assert "com.apple.security.cs.allow-unsigned-executable-memory" in ent


def test_spec_bundles_both_programs_in_one_folder():
    spec = (DESKTOP / "nexavpn-desktop.spec").read_text()
    assert 'name="nexavpn-desktop"' in spec and 'name="nexavpn-client"' in spec
    assert spec.count("EXE(") == 2 and spec.count("COLLECT(") == 1 and "BUNDLE(" in spec
    for launcher in ("launch_desktop.py", "launch_client.py"):
        code = (DESKTOP / launcher).read_text()
        assert "raise SystemExit(main())" in code


def test_packaging_python_files_are_ruff_clean():
    ruff = VENV_BIN / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed")
    files = [str(p) for p in DESKTOP.rglob("*.py")] + [__file__]
    res = subprocess.run([str(ruff), "check", *files], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stdout
