"""Throwaway network namespaces for the real data-plane tests (names ``nx`` + random hex).

Everything made here is removed again even when a test fails: WireGuard links first (that ends
their wireguard-go), then the namespaces, then any UAPI socket left in /var/run/wireguard.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

UAPI_DIR = Path("/var/run/wireguard")


def unique(prefix: str = "nx") -> str:
    """A short unique name usable as netns or interface name (<= 15 characters)."""
    return f"{prefix}{secrets.token_hex(4)}"


def missing_parts() -> str | None:
    """Why the real data-plane tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    for tool in ("ip", "wg", "wireguard-go", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def sh(argv: Sequence[str], *, netns: str | None = None, check: bool = True,
       input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run one command (optionally inside ``netns``) for test scaffolding."""
    full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
    return subprocess.run(full, capture_output=True, text=True, check=check, input=input,
                          timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)


class Lab:
    """Namespaces and WireGuard links made by one test, torn down in ``close``."""

    def __init__(self) -> None:
        self.namespaces: list[str] = []
        self.links: list[tuple[str, str]] = []

    def netns(self) -> str:
        name = unique()
        sh(["ip", "netns", "add", name])
        self.namespaces.append(name)
        sh(["ip", "link", "set", "lo", "up"], netns=name)
        return name

    def track_link(self, netns: str, name: str) -> str:
        self.links.append((netns, name))
        return name

    def veth(self, ns_a: str, addr_a: str, ns_b: str, addr_b: str) -> tuple[str, str]:
        a, b = unique("nxv"), unique("nxv")
        sh(["ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b,
            "netns", ns_b])
        for ns, dev, addr in ((ns_a, a, addr_a), (ns_b, b, addr_b)):
            sh(["ip", "-n", ns, "address", "add", addr, "dev", dev])
            sh(["ip", "-n", ns, "link", "set", dev, "up"])
        return a, b

    def close(self) -> None:
        for ns, link in self.links:
            sh(["ip", "-n", ns, "link", "del", link], check=False)
        for ns in self.namespaces:
            sh(["ip", "netns", "del", ns], check=False)
        deadline = time.monotonic() + 3
        for _, link in self.links:
            sock = UAPI_DIR / f"{link}.sock"
            while sock.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            sock.unlink(missing_ok=True)


@contextmanager
def lab() -> Iterator[Lab]:
    """A Lab that always cleans up."""
    reason = missing_parts()
    if reason:
        pytest.skip(reason)
    made = Lab()
    try:
        yield made
    finally:
        made.close()
