"""Agent settings from, in order of precedence: CLI flags > NEXAVPN_GATEWAY_* env > config file.

The config file (``/etc/nexavpn/gateway.conf`` unless ``--config`` says otherwise) is TOML or
INI; either way the keys sit in a ``[gateway]`` section and are named like the long flags with
underscores (``token_file``, ``listen_port``, ...). The token itself is never a setting: only the
path of a file that holds it, so it does not show in ``ps`` or the environment.
"""

from __future__ import annotations

import configparser
import logging
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexavpn_shared.tls_pin import FingerprintError, normalize_fingerprint

log = logging.getLogger(__name__)

DEFAULT_CONFIG_FILE = Path("/etc/nexavpn/gateway.conf")
DEFAULT_STATE_DIR = Path("/var/lib/nexavpn/gateway")  # the packages' StateDirectory too
ENV_PREFIX = "NEXAVPN_GATEWAY_"
KEYS = (
    "server", "token_file", "interface", "listen_port", "state_dir", "ca_file",
    "server_fingerprint", "poll_wait", "heartbeat_interval", "log_level", "netns", "wireguard_go",
)
_IFNAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_NETNS_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the setting and where to set it."""


@dataclass(frozen=True)
class Settings:
    """Everything the agent is configured with (the token is read from ``token_file``)."""

    server: str
    token_file: Path
    interface: str
    listen_port: int = 51820
    state_dir: Path = DEFAULT_STATE_DIR
    ca_file: Path | None = None
    server_fingerprint: str | None = None
    poll_wait: int = 30
    heartbeat_interval: float = 30.0
    log_level: str = "INFO"
    netns: str | None = None
    wireguard_go: str = "wireguard-go"


def read_config_file(path: Path) -> dict[str, str]:
    """Read the ``[gateway]`` section of a TOML or INI file as strings."""
    text = path.read_text(encoding="utf-8")
    try:
        data: Mapping[str, Any] = tomllib.loads(text)
        section = data.get("gateway", data)
        if not isinstance(section, Mapping):
            raise SettingsError(f"{path}: [gateway] must be a table")
    except tomllib.TOMLDecodeError:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text, source=str(path))
        except configparser.Error as exc:
            raise SettingsError(f"{path}: neither TOML nor INI ({type(exc).__name__})") from None
        section = dict(parser.items("gateway")) if parser.has_section("gateway") else None
    if section is None:
        raise SettingsError(f"{path}: no [gateway] section")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise SettingsError(f"{path}: unknown settings: {', '.join(unknown)}")
    return {k: str(v) for k, v in section.items()}


def _int(value: object, name: str, lo: int, hi: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise SettingsError(f"{name} must be a whole number") from None
    if not lo <= number <= hi:
        raise SettingsError(f"{name} must be {lo}-{hi}")
    return number


def load_settings(
    cli: Mapping[str, object | None],
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge the three sources; ``config_file`` None means the default path if it exists."""
    env = os.environ if env is None else env
    merged: dict[str, object] = {}
    path = config_file
    if path is None and env.get(ENV_PREFIX + "CONFIG"):
        path = Path(env[ENV_PREFIX + "CONFIG"])
    if path is None and DEFAULT_CONFIG_FILE.exists():
        path = DEFAULT_CONFIG_FILE
    if path is not None:
        if not path.exists():
            raise SettingsError(f"config file {path} does not exist")
        merged.update(read_config_file(path))
    for key in KEYS:
        if env.get(ENV_PREFIX + key.upper()):
            merged[key] = env[ENV_PREFIX + key.upper()]
    for key in KEYS:
        if cli.get(key) is not None:
            merged[key] = cli[key]
    missing = [k for k in ("server", "token_file", "interface") if not merged.get(k)]
    if missing:
        flags = ", ".join("--" + k.replace("_", "-") for k in missing)
        raise SettingsError(f"missing {flags} (or {ENV_PREFIX}* / the config file)")
    interface = str(merged["interface"])
    if not _IFNAME_RE.fullmatch(interface):
        raise SettingsError("interface must be 1-15 characters of A-Z a-z 0-9 _ . -")
    netns = str(merged["netns"]) if merged.get("netns") else None
    if netns is not None and not _NETNS_RE.fullmatch(netns):
        raise SettingsError("netns must be a plain namespace name")
    level = str(merged.get("log_level", "INFO")).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError("log_level must be DEBUG, INFO, WARNING or ERROR")
    try:
        heartbeat = float(str(merged.get("heartbeat_interval", 30)))
    except ValueError:
        raise SettingsError("heartbeat_interval must be a number of seconds") from None
    if not 1 <= heartbeat <= 3600:
        raise SettingsError("heartbeat_interval must be 1-3600 seconds")
    ca_file = Path(str(merged["ca_file"])) if merged.get("ca_file") else None
    if ca_file is not None and not (ca_file.is_file() and os.access(ca_file, os.R_OK)):
        # Found at start, not on the first poll: by then the interface is up and the agent
        # would crash-loop under systemd instead of saying what is wrong.
        raise SettingsError(f"ca_file {ca_file} is not a readable file")
    pin = str(merged["server_fingerprint"]) if merged.get("server_fingerprint") else None
    if pin is not None:
        if ca_file is not None:
            raise SettingsError("pass either ca_file or server_fingerprint, not both")
        try:
            pin = normalize_fingerprint(pin)
        except FingerprintError:
            raise SettingsError("server_fingerprint must be a SHA-256 fingerprint: 64 hex "
                                "digits, colons allowed (shown in the admin UI)") from None
    return Settings(
        server=str(merged["server"]),
        token_file=Path(str(merged["token_file"])),
        interface=interface,
        listen_port=_int(merged.get("listen_port", 51820), "listen_port", 1, 65535),
        state_dir=Path(str(merged.get("state_dir", DEFAULT_STATE_DIR))),
        ca_file=ca_file,
        server_fingerprint=pin,
        poll_wait=_int(merged.get("poll_wait", 30), "poll_wait", 0, 60),
        heartbeat_interval=heartbeat,
        log_level=level,
        netns=netns,
        wireguard_go=str(merged.get("wireguard_go", "wireguard-go")),
    )


def read_token(path: Path, *, warn: bool = True) -> str:
    """Read the agent token (first line); warn when the file is readable by others."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"cannot read the token file {path}: {exc.strerror}") from None
    if mode & 0o077 and warn:
        log.warning("the token file is readable by other users; chmod 600 it",
                    extra={"fields": {"path": str(path)}})
    if not token or any(c.isspace() for c in token):
        raise SettingsError(f"the token file {path} must hold one token on one line")
    return token
