"""``nexavpn-gateway``: run the agent (``run``) or print the version (``--version``)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from nexavpn_gateway import __version__
from nexavpn_gateway.agent import Agent, AgentOptions
from nexavpn_gateway.client import ControlPlaneClient
from nexavpn_gateway.config import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_STATE_DIR,
    Settings,
    SettingsError,
    load_settings,
    read_token,
)
from nexavpn_gateway.logs import setup_logging
from nexavpn_gateway.runner import SubprocessRunner, netns_prefix

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The command line; every ``run`` option can also come from env or the config file."""
    parser = argparse.ArgumentParser(
        prog="nexavpn-gateway", description="NexaVPN gateway agent (WireGuard + nftables)."
    )
    parser.add_argument("--version", action="version", version=f"nexavpn-gateway {__version__}")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the agent")
    run.add_argument("--server", help="control plane base URL (https://...)")
    run.add_argument("--token-file", dest="token_file", help="file holding the agent token")
    run.add_argument("--interface", help="WireGuard interface name (max 15 characters)")
    run.add_argument("--listen-port", dest="listen_port", type=int, help="UDP port (51820)")
    run.add_argument("--state-dir", dest="state_dir",
                     help=f"where the private key lives ({DEFAULT_STATE_DIR})")
    run.add_argument("--ca-file", dest="ca_file", help="PEM bundle of a private CA to trust")
    run.add_argument("--server-fingerprint", dest="server_fingerprint", metavar="SHA256",
                     help="trust exactly the server certificate with this SHA-256 fingerprint "
                          "(a self-signed server; shown in the admin UI)")
    run.add_argument("--config", type=Path,
                     help=f"config file ({DEFAULT_CONFIG_FILE})")
    run.add_argument("--poll-wait", dest="poll_wait", type=int, help="long-poll seconds (30)")
    run.add_argument("--heartbeat-interval", dest="heartbeat_interval", type=float,
                     help="seconds between heartbeats (30)")
    run.add_argument("--log-level", dest="log_level", help="DEBUG, INFO, WARNING, ERROR")
    run.add_argument("--netns", help=argparse.SUPPRESS)  # tests/bench: run tools in a netns
    run.add_argument("--wireguard-go", dest="wireguard_go", help=argparse.SUPPRESS)
    run.add_argument("--once", action="store_true",
                     help="apply the current config once, heartbeat, and exit")
    return parser


def make_agent(settings: Settings) -> Agent:
    """Wire runner, clients and options from the settings."""
    token = read_token(settings.token_file)
    ca = str(settings.ca_file) if settings.ca_file else None
    pin = settings.server_fingerprint
    client = ControlPlaneClient(settings.server, token, ca_file=ca, server_fingerprint=pin)
    heartbeat_client = ControlPlaneClient(settings.server, token, ca_file=ca,
                                          server_fingerprint=pin)
    runner = SubprocessRunner(prefix=netns_prefix(settings.netns))
    options = AgentOptions(
        interface=settings.interface,
        listen_port=settings.listen_port,
        state_dir=settings.state_dir,
        poll_wait=settings.poll_wait,
        heartbeat_interval=settings.heartbeat_interval,
        wireguard_go=settings.wireguard_go,
    )
    return Agent(options, runner, client, heartbeat_client=heartbeat_client,
                 read_token=lambda: read_token(settings.token_file, warn=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "run":
        parser.print_help(sys.stderr)
        return 2
    cli = {k: v for k, v in vars(args).items() if k not in ("command", "config", "once")}
    try:
        settings = load_settings(cli, config_file=args.config)
        setup_logging(settings.log_level)
        agent = make_agent(settings)
    except (SettingsError, ValueError) as exc:
        print(f"nexavpn-gateway: {exc}", file=sys.stderr)
        return 2
    if args.once:
        return agent.run_once()
    signal.signal(signal.SIGTERM, agent.handle_signal)
    signal.signal(signal.SIGINT, agent.handle_signal)
    return agent.run()


if __name__ == "__main__":
    sys.exit(main())
