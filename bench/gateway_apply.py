#!/usr/bin/env python3
"""Benchmark: agent convergence on a real wireguard-go interface in a throwaway namespace.

Times, for the gateway agent (validation + ``wg show dump`` diff + ``wg`` apply + nft):
  * 1,000 peers from empty, 10,000 peers from empty (fresh interface each run),
  * 1 changed peer out of 10,000 (one peer moves to a new address and gets a new grant),
and beside them a single raw ``wg syncconf`` of the same 10,000-peer file in the same run.
Targets: full convergence <= 1.5x raw syncconf; one changed peer < 100 ms.

Run as root: ``.venv/bin/python bench/gateway_apply.py [--runs 3]``. Needs ip, wg,
wireguard-go and nft. Everything it creates is removed again, also on failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nexavpn_gateway import wg
from nexavpn_gateway.agent import Agent, AgentOptions
from nexavpn_gateway.client import ControlPlaneClient
from nexavpn_gateway.runner import SubprocessRunner, netns_prefix
from nexavpn_shared.keys import generate_keypair, generate_private_key


def sh(argv: list[str], netns: str | None = None, **kw: Any) -> subprocess.CompletedProcess:
    full = [*netns_prefix(netns), *argv]
    return subprocess.run(full, capture_output=True, text=True, timeout=300, check=True, **kw)


def payload(revision: int, keys: list[str], port: int, moved: int | None = None) -> dict[str, Any]:
    """A contract config: peer i at 10.8.x.y with one or two grants."""
    peers = []
    for i, key in enumerate(keys):
        n = i + 2
        addr = f"10.8.{n // 256}.{n % 256}/32"
        dests = [f"10.20.{i % 200}.0/24"] + (["192.168.0.0/16"] if i % 3 == 0 else [])
        if i == moved:
            addr, dests = "10.9.255.254/32", ["10.77.0.0/24"]
        peers.append({"public_key": key, "allowed_ips": [addr], "destinations": dests})
    return {"revision": revision,
            "interface": {"address": "10.8.0.1/16", "listen_port": port}, "peers": peers}


class Bench:
    def __init__(self) -> None:
        self.netns = f"nxb{secrets.token_hex(4)}"
        self.links: list[str] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="nxbench"))
        sh(["ip", "netns", "add", self.netns])

    def link(self) -> str:
        name = f"nxb{secrets.token_hex(5)}"
        self.links.append(name)
        return name

    def drop(self, name: str) -> None:
        subprocess.run(["ip", "-n", self.netns, "link", "del", name], capture_output=True,
                       timeout=30, check=False)

    def close(self) -> None:
        for name in self.links:
            self.drop(name)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, timeout=30,
                       check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        time.sleep(0.3)
        for name in self.links:
            Path(f"/var/run/wireguard/{name}.sock").unlink(missing_ok=True)

    def agent(self) -> Agent:
        """A fresh agent + fresh interface (own state dir, so a new key)."""
        name = self.link()
        state = self.tmp / name
        opts = AgentOptions(interface=name, listen_port=51820 + len(self.links), state_dir=state)
        client = ControlPlaneClient("http://127.0.0.1:9", "unused")  # never called
        agent = Agent(opts, SubprocessRunner(prefix=netns_prefix(self.netns)), client)
        agent.start()
        return agent

    def raw_syncconf(self, keys: list[str]) -> float:
        name = self.link()
        sh(["wireguard-go", name], self.netns)
        text = wg.render_syncconf(generate_private_key(), 40000,
                                  [(k, (f"10.8.{(i + 2) // 256}.{(i + 2) % 256}/32",))
                                   for i, k in enumerate(keys)])
        path = self.tmp / "raw.conf"
        path.write_text(text)
        path.chmod(0o600)
        t0 = time.perf_counter()
        sh(["wg", "syncconf", name, str(path)], self.netns)
        elapsed = time.perf_counter() - t0
        self.drop(name)
        return elapsed


def ms(x: float) -> str:
    return f"{x * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "wg", "wireguard-go", "nft")):
        print("needs root and ip, wg, wireguard-go, nft", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR)
    print("generating 10,000 keypairs ...", flush=True)
    keys = [generate_keypair().public_key for _ in range(10_000)]
    bench = Bench()
    results: dict[str, list[float]] = {"raw": [], "1k": [], "10k": [], "one": []}
    detail: dict[str, Any] = {}
    try:
        for run in range(args.runs):
            results["raw"].append(bench.raw_syncconf(keys))
            # Timed from the decoded config payload to converged wg + nft (HTTP not included).
            a1 = bench.agent()
            cfg = payload(1, keys[:1000], a1.options.listen_port)
            t0 = time.perf_counter()
            a1.apply_config(cfg)
            results["1k"].append(time.perf_counter() - t0)
            bench.drop(a1.options.interface)

            a10 = bench.agent()
            cfg = payload(1, keys, a10.options.listen_port)
            t0 = time.perf_counter()
            r10 = a10.apply_config(cfg)
            results["10k"].append(time.perf_counter() - t0)
            detail["10k"] = r10
            cfg = payload(2, keys, a10.options.listen_port, moved=run * 7 + 5)
            t0 = time.perf_counter()
            r1 = a10.apply_config(cfg)
            results["one"].append(time.perf_counter() - t0)
            detail["one"] = r1
            dump = wg.parse_dump(sh(["wg", "show", a10.options.interface, "dump"],
                                    bench.netns).stdout)
            assert len(dump.peers) == 10_000, len(dump.peers)
            bench.drop(a10.options.interface)
            print(f"run {run + 1}: raw {ms(results['raw'][-1])} | 1k {ms(results['1k'][-1])} | "
                  f"10k {ms(results['10k'][-1])} | 1-of-10k {ms(results['one'][-1])}", flush=True)
    finally:
        bench.close()
    med = {k: statistics.median(v) for k, v in results.items()}
    print()
    print(f"median of {args.runs} runs (agent = validate + dump diff + wg apply + nft):")
    print(f"  raw wg syncconf, 10,000 peers       {ms(med['raw'])}")
    print(f"  agent, 1,000 peers from empty       {ms(med['1k'])}")
    print(f"  agent, 10,000 peers from empty      {ms(med['10k'])}"
          f"   = {med['10k'] / med['raw']:.2f}x raw (target <= 1.5x)")
    print(f"  agent, 1 changed of 10,000          {ms(med['one'])}   (target < 100 ms)")
    for name in ("10k", "one"):
        r = detail[name]
        parts = ", ".join(f"{k} {v * 1000:.1f}" for k, v in r.timings.items())
        print(f"  last {name}: method={r.method} nft={r.nft}; ms: {parts}")
    ok = med["10k"] <= 1.5 * med["raw"] and med["one"] < 0.1
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
