"""The gateway's own WireGuard interface: its key (made here, kept here) and its link.

Kernel WireGuard is used when ``ip link add type wireguard`` works; otherwise the userspace
``wireguard-go`` (which daemonises itself, so the data plane outlives an agent restart).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path

from nexavpn_gateway import wg
from nexavpn_gateway.runner import CommandError, Runner
from nexavpn_shared.keys import generate_private_key, is_valid_key, public_key_from_private

log = logging.getLogger(__name__)

KEY_FILE_NAME = "private.key"


class KeyFileError(Exception):
    """The private key file exists but is unusable (never says what is inside it)."""


def ensure_private_key(state_dir: Path) -> tuple[Path, str]:
    """Return (key file path, public key); generate a 0600 key file on first start."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_dir / KEY_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("private key file was readable by others; fixing its mode",
                        extra={"fields": {"path": str(path), "mode": oct(mode)}})
            path.chmod(0o600)
        private = path.read_text(encoding="ascii", errors="replace").strip()
        if not is_valid_key(private):
            raise KeyFileError(f"{path} does not hold a WireGuard private key") from None
        return path, public_key_from_private(private)
    private = generate_private_key()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(private + "\n")
    log.info("generated the gateway's private key", extra={"fields": {"path": str(path)}})
    return path, public_key_from_private(private)


class WireGuardInterface:
    """A handful of verbs on one interface: ensure, configure, addresses, read state, apply."""

    def __init__(self, runner: Runner, name: str, *, wireguard_go: str = "wireguard-go") -> None:
        self.runner = runner
        self.name = name
        self.wireguard_go = wireguard_go
        self.userspace = False

    def exists(self) -> bool:
        """True when the link exists and answers ``wg show`` (i.e. it is a WireGuard link)."""
        res = self.runner.run(["wg", "show", self.name, "listen-port"], check=False, timeout=10)
        return res.returncode == 0

    def create(self, wait: float = 10.0) -> None:
        """Create the link: kernel module first, then wireguard-go; wait until it answers."""
        try:
            self.runner.run(["ip", "link", "add", "dev", self.name, "type", "wireguard"],
                            timeout=10)
            log.info("created kernel WireGuard interface", extra={"fields": {"if": self.name}})
        except CommandError as exc:
            log.info("kernel WireGuard unavailable; starting wireguard-go",
                     extra={"fields": {"if": self.name, "reason": exc.stderr.strip()[:200]}})
            self.runner.run([self.wireguard_go, self.name], timeout=20)
            self.userspace = True
        deadline = time.monotonic() + wait
        while not self.exists():
            if time.monotonic() > deadline:
                raise CommandError(["wg", "show", self.name], None,
                                   "interface did not come up", timed_out=True)
            time.sleep(0.05)

    def ensure(self, key_file: Path, listen_port: int) -> None:
        """Create the interface if missing, set key and port, bring it up (idempotent)."""
        if not self.exists():
            self.create()
        self.runner.run(wg.set_interface_argv(self.name, str(key_file), listen_port), timeout=10)
        self.runner.run(["ip", "link", "set", "dev", self.name, "up"], timeout=10)

    def addresses(self) -> set[str]:
        """The global-scope addresses on the link, in interface notation."""
        res = self.runner.run(["ip", "-j", "address", "show", "dev", self.name], timeout=10)
        found: set[str] = set()
        for link in json.loads(res.stdout or "[]"):
            for info in link.get("addr_info", []):
                if info.get("scope") == "global" and "local" in info:
                    found.add(f"{info['local']}/{info['prefixlen']}")
        return found

    def set_addresses(self, wanted: list[str]) -> bool:
        """Make the link's global addresses exactly ``wanted``; True when something changed."""
        have = self.addresses()
        changed = False
        for addr in sorted(have - set(wanted)):
            self.runner.run(["ip", "address", "del", addr, "dev", self.name], timeout=10)
            changed = True
        for addr in wanted:
            if addr not in have:
                self.runner.run(["ip", "address", "add", addr, "dev", self.name], timeout=10)
                changed = True
        return changed

    def state(self) -> wg.InterfaceState:
        """Read the running state with one ``wg show <if> dump``."""
        res = self.runner.run(wg.show_dump_argv(self.name), timeout=30)
        return wg.parse_dump(res.stdout)

    def set_peers(self, upserts: list[tuple[str, tuple[str, ...]]], removals: list[str]) -> int:
        """Apply only the changed peers with as few ``wg set`` calls as fit; returns the count."""
        argvs = wg.set_peers_argvs(self.name, upserts, removals)
        for argv in argvs:
            self.runner.run(argv, timeout=120)
        return len(argvs)
