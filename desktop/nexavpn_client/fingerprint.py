"""A stable device fingerprint: a keyed hash of the OS machine identity, never the raw id.

Linux ``/etc/machine-id`` (or D-Bus's copy), macOS ``IOPlatformUUID`` (``ioreg``), Windows
``MachineGuid`` (registry). HMAC-SHA256 with an app constant turns it into 64 hex digits, so
the server never sees the raw id and other apps' hashes of it do not match ours. Without a
machine id, a random id kept in the keyring stands in (stable while the keyring lives).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import CommandFailed
from .runner import Runner, SubprocessRunner
from .secrets.base import SecretKey, SecretStore

log = logging.getLogger(__name__)

# The HMAC key: constant for the app, so one machine always maps to one fingerprint.
APP_KEY = b"nexavpn-device-fingerprint-v1"
LINUX_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
_IOREG_UUID = re.compile(r'"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]{8,64})"')


def keyed_hash(raw_id: str) -> str:
    """HMAC-SHA256(APP_KEY, normalised id) as 64 lowercase hex digits."""
    norm = raw_id.strip().lower().encode("utf-8")
    return hmac.new(APP_KEY, norm, hashlib.sha256).hexdigest()


def linux_machine_id(read: Callable[[str], str] | None = None) -> str | None:
    """``/etc/machine-id`` (or ``/var/lib/dbus/machine-id``); None if absent or blank."""
    reader = read or (lambda p: Path(p).read_text(encoding="ascii", errors="replace"))
    for path in LINUX_ID_FILES:
        try:
            value = reader(path).strip()
        except OSError:
            continue
        if value and set(value) != {"0"}:
            return value
    return None


def parse_ioreg(output: str) -> str | None:
    """Pull ``IOPlatformUUID`` out of ``ioreg -rd1 -c IOPlatformExpertDevice`` output."""
    match = _IOREG_UUID.search(output)
    return match.group(1) if match else None


def macos_machine_id(runner: Runner) -> str | None:
    """IOPlatformUUID via ``ioreg``; None if the tool fails."""
    try:
        result = runner.run(["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"], timeout=10)
    except CommandFailed as exc:
        log.info("ioreg failed: %s", exc)
        return None
    return parse_ioreg(result.stdout)


def windows_machine_id() -> str | None:  # pragma: no cover - Windows only
    """``HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid`` (64-bit view)."""
    try:
        import winreg
    except ImportError:
        return None
    try:
        key = winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE,
            r"SOFTWARE\Microsoft\Cryptography",
            0,
            winreg.KEY_READ | winreg.KEY_WOW64_64KEY,
        )
        with key:
            value, _ = winreg.QueryValueEx(key, "MachineGuid")
    except OSError:
        return None
    return str(value) if value else None


def machine_id(
    platform: str | None = None,
    runner: Runner | None = None,
    read_file: Callable[[str], str] | None = None,
    windows_reader: Callable[[], str | None] | None = None,
) -> str | None:
    """The raw OS machine identity for ``platform`` (``sys.platform`` style), or None."""
    plat = platform or sys.platform
    if plat.startswith("linux"):
        return linux_machine_id(read_file)
    if plat == "darwin":
        return macos_machine_id(runner or SubprocessRunner())
    if plat in ("win32", "cygwin"):
        return (windows_reader or windows_machine_id)()
    return None


def device_fingerprint(
    store: SecretStore,
    *,
    platform: str | None = None,
    runner: Runner | None = None,
    read_file: Callable[[str], str] | None = None,
    windows_reader: Callable[[], str | None] | None = None,
) -> str:
    """The 64-hex fingerprint of this machine; falls back to a random id kept in ``store``."""
    raw = machine_id(platform, runner, read_file, windows_reader)
    if raw:
        return keyed_hash(raw)
    fallback = store.get(SecretKey.MACHINE_ID)
    if not fallback:
        log.info("no OS machine id; using a random id kept in the keyring")
        fallback = secrets.token_hex(32)
        store.set(SecretKey.MACHINE_ID, fallback)
    return keyed_hash(fallback)
