"""Linux backend: ``ip`` + ``wg`` (kernel WireGuard, or ``wireguard-go`` in userspace).

What ``wg-quick up`` does, without a shell and without writing the private key to disk: the
key goes to ``wg setconf <if> /dev/stdin`` through a pipe. Needs root or CAP_NET_ADMIN.
A full tunnel (``0.0.0.0/0`` or ``::/0``) uses wg-quick's fwmark policy routing so the
encrypted packets themselves still leave through the normal route.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import CommandFailed, TunnelError
from ..runner import Runner
from .base import (
    DISCONNECTED,
    TunnelBackend,
    TunnelConfig,
    TunnelStatus,
    status_from_dump,
    validate_tunnel_name,
)

log = logging.getLogger(__name__)

DEFAULT_MTU = 1420
DEFAULT_FWMARK = 51820
CAP_NET_ADMIN = 12


def has_net_admin(status_path: str = "/proc/self/status") -> bool:
    """True for root or when CAP_NET_ADMIN is in the effective capability set."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return True
    try:
        for line in Path(status_path).read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except (OSError, ValueError, IndexError):
        return False
    return False


def _family(cidr: str) -> str:
    return "-6" if ipaddress.ip_network(cidr, strict=False).version == 6 else "-4"


class LinuxBackend(TunnelBackend):
    """Runs the tunnel with ``ip`` and ``wg``; ``userspace``: ``auto``/``always``/``never``."""

    name = "linux"

    def __init__(
        self,
        runner: Runner,
        *,
        platform: str | None = None,
        which: Callable[[str], str | None] = shutil.which,
        net_admin: Callable[[], bool] = has_net_admin,
        userspace: str = "auto",
        wireguard_go: str = "wireguard-go",
        fwmark: int = DEFAULT_FWMARK,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if userspace not in ("auto", "always", "never"):
            raise ValueError("userspace must be auto, always or never")
        self.runner = runner
        self.platform = platform or sys.platform
        self.which = which
        self.net_admin = net_admin
        self.userspace = userspace
        self.wireguard_go = wireguard_go
        self.fwmark = fwmark
        self.sleep = sleep

    # -------------------------------------------------------------- availability

    def is_available(self) -> tuple[bool, str]:
        """Linux, ``ip`` and ``wg`` installed, root/CAP_NET_ADMIN, kernel module or wireguard-go."""
        if not self.platform.startswith("linux"):
            return False, "the Linux backend only runs on Linux"
        for tool in ("ip", "wg"):
            if not self.which(tool):
                return False, f"'{tool}' is not installed (install iproute2 and wireguard-tools)"
        if not self.net_admin():
            return False, "changing network interfaces needs root or CAP_NET_ADMIN"
        kernel = Path("/sys/module/wireguard").exists()
        userspace = bool(self.which(self.wireguard_go))
        if self.userspace == "always" and not userspace:
            return False, "wireguard-go is not installed"
        if not kernel and not userspace:
            return False, "neither the WireGuard kernel module nor wireguard-go is available"
        return True, "kernel WireGuard" if kernel and self.userspace != "always" else "wireguard-go"

    # -------------------------------------------------------------- helpers

    def _run(self, *argv: str, input: str | None = None, check: bool = True) -> bool:
        return self.runner.run(list(argv), input=input, timeout=30, check=check).ok

    def _exists(self, name: str) -> bool:
        return self.runner.run(["ip", "link", "show", "dev", name], timeout=10, check=False).ok

    def _create_link(self, name: str) -> None:
        if self.userspace != "always":
            result = self.runner.run(
                ["ip", "link", "add", "dev", name, "type", "wireguard"], timeout=15, check=False
            )
            if result.ok:
                return
            if self.userspace == "never":
                raise CommandFailed(list(result.argv), result.returncode, result.stderr)
            log.info("kernel WireGuard unavailable, falling back to %s", self.wireguard_go)
        self.runner.run([self.wireguard_go, name], timeout=30)
        for _ in range(50):  # wireguard-go daemonizes; wait for its interface
            if self._exists(name):
                return
            self.sleep(0.1)
        raise TunnelError(f"{self.wireguard_go} did not create interface {name}")

    def _setconf(self, config: TunnelConfig, verb: str = "setconf") -> None:
        text = config.setconf_text()
        last: CommandFailed | None = None
        for _ in range(20):  # the userspace UAPI socket can lag behind the interface
            try:
                self.runner.run(["wg", verb, config.name, "/dev/stdin"], input=text, timeout=15)
                return
            except CommandFailed as exc:
                last = exc
                if "No such file" not in exc.stderr and "Connection refused" not in exc.stderr:
                    break
                self.sleep(0.1)
        assert last is not None
        raise last

    def _default_routes(self, config: TunnelConfig) -> list[str]:
        return [c for c in config.allowed_ips if ipaddress.ip_network(c).prefixlen == 0]

    def _configure(self, config: TunnelConfig, add_addresses: bool = True) -> None:
        """Addresses, MTU/up, routes and DNS for an interface whose wg config is set."""
        name = config.name
        for addr in config.addresses if add_addresses else ():
            self._run("ip", _family(addr), "address", "add", addr, "dev", name)
        self._run("ip", "link", "set", "mtu", str(config.mtu or DEFAULT_MTU), "up", "dev", name)
        defaults = self._default_routes(config)
        for cidr in sorted(
            config.allowed_ips, key=lambda c: -ipaddress.ip_network(c).prefixlen
        ):
            if cidr in defaults:
                continue
            self._run("ip", _family(cidr), "route", "replace", cidr, "dev", name)
        if defaults:
            self._run("wg", "set", name, "fwmark", str(self.fwmark))
            for cidr in defaults:
                fam = _family(cidr)
                table = str(self.fwmark)
                self._run("ip", fam, "route", "replace", cidr, "dev", name, "table", table)
                self._run("ip", fam, "rule", "add", "not", "fwmark", table, "table", table)
                self._run(
                    "ip", fam, "rule", "add", "table", "main", "suppress_prefixlength", "0"
                )
                if fam == "-4":
                    self._run(
                        "sysctl", "-q", "net.ipv4.conf.all.src_valid_mark=1", check=False
                    )
        if config.dns and self.which("resolvectl"):
            ok = self._run("resolvectl", "dns", name, *config.dns, check=False)
            if ok and defaults:
                self._run("resolvectl", "domain", name, "~.", check=False)
            if not ok:
                log.warning("could not set DNS for %s with resolvectl", name)

    def _unconfigure_rules(self, name: str) -> None:
        """Remove the fwmark policy rules a full tunnel added (each family, if present)."""
        table = str(self.fwmark)
        for fam in ("-4", "-6"):
            for _ in range(4):
                if not self._run("ip", fam, "rule", "delete", "table", table, check=False):
                    break
            for _ in range(4):
                if not self._run(
                    "ip", fam, "rule", "delete", "table", "main", "suppress_prefixlength", "0",
                    check=False,
                ):
                    break

    # -------------------------------------------------------------- interface

    def install(self, config: TunnelConfig) -> None:
        """Nothing to keep on disk; a running tunnel is updated in place (``wg syncconf``)."""
        if not self._exists(config.name):
            return
        self._setconf(config, verb="syncconf")
        name = config.name
        self._unconfigure_rules(name)
        self._drop_stale_routes(config)
        same_addresses = self._addresses(name) == {
            str(ipaddress.ip_interface(a)) for a in config.addresses
        }
        if not same_addresses:  # else keep them: no blip for traffic in flight
            self._run("ip", "address", "flush", "dev", name)
        self._configure(config, add_addresses=not same_addresses)

    def _addresses(self, name: str) -> set[str]:
        """The global addresses on the interface now (``ip -o address show``)."""
        result = self.runner.run(["ip", "-o", "address", "show", "dev", name], timeout=10,
                                 check=False)
        found: set[str] = set()
        for line in result.stdout.splitlines() if result.ok else []:
            fields = line.split()
            for fam in ("inet", "inet6"):
                if fam in fields and fields.index(fam) + 1 < len(fields):
                    value = fields[fields.index(fam) + 1]
                    if not value.startswith("fe80:"):
                        try:
                            found.add(str(ipaddress.ip_interface(value)))
                        except ValueError:
                            continue
        return found

    def _drop_stale_routes(self, config: TunnelConfig) -> None:
        """Routes for destinations the new profile no longer grants leave with them."""
        wanted = {str(ipaddress.ip_network(c, strict=False)) for c in config.allowed_ips}
        for fam in ("-4", "-6"):
            result = self.runner.run(
                ["ip", "-o", fam, "route", "show", "dev", config.name], timeout=10, check=False
            )
            if not result.ok:
                continue
            for line in result.stdout.splitlines():
                fields = line.split()
                if not fields or " proto kernel" in f" {line}":
                    continue
                try:
                    net = str(ipaddress.ip_network(fields[0], strict=False))
                except ValueError:
                    continue
                if net not in wanted:
                    self._run("ip", fam, "route", "delete", fields[0], "dev", config.name,
                              check=False)

    def connect(self, config: TunnelConfig) -> None:
        """Create the interface, set keys/peers, addresses, routes, DNS (replacing an old one)."""
        validate_tunnel_name(config.name)
        if self._exists(config.name):
            self.disconnect(config.name)
        self._create_link(config.name)
        try:
            self._setconf(config)
            self._configure(config)
        except Exception:
            log.warning("tunnel %s failed to come up; removing it", config.name)
            self.disconnect(config.name)
            raise

    def disconnect(self, name: str) -> None:
        """Remove policy rules, DNS and the interface (wireguard-go exits with it)."""
        validate_tunnel_name(name)
        if not self._exists(name):
            self._unconfigure_rules(name)
            return
        if self.which("resolvectl"):
            self._run("resolvectl", "revert", name, check=False)
        self._unconfigure_rules(name)
        self._run("ip", "link", "delete", "dev", name)

    def status(self, name: str) -> TunnelStatus:
        """``wg show <if> dump`` when the interface exists, else disconnected."""
        validate_tunnel_name(name)
        if not self._exists(name):
            return TunnelStatus(DISCONNECTED, self.name)
        result = self.runner.run(["wg", "show", name, "dump"], timeout=10, check=False)
        if not result.ok:
            return TunnelStatus(
                DISCONNECTED, self.name, detail="interface exists but is not WireGuard"
            )
        return status_from_dump(self.name, result.stdout)

    def remove(self, name: str) -> None:
        """Same as disconnect: nothing else is installed on Linux."""
        self.disconnect(name)
