"""Tunnel managers: one interface, a backend per platform, an import-handoff fallback."""

from __future__ import annotations

from .base import (
    CONNECTED,
    CONNECTING,
    DEFAULT_TUNNEL_NAME,
    DISCONNECTED,
    HANDED_OFF,
    UNKNOWN,
    TunnelBackend,
    TunnelConfig,
    TunnelStatus,
    parse_wg_dump,
)
from .factory import candidates, choose_backend
from .handoff import HandoffBackend, qr_png, qr_text
from .linux import LinuxBackend
from .macos import MacOSBackend, OsascriptHelper, SudoHelper
from .windows import WindowsBackend

__all__ = [
    "CONNECTED",
    "CONNECTING",
    "DEFAULT_TUNNEL_NAME",
    "DISCONNECTED",
    "HANDED_OFF",
    "UNKNOWN",
    "HandoffBackend",
    "LinuxBackend",
    "MacOSBackend",
    "OsascriptHelper",
    "SudoHelper",
    "TunnelBackend",
    "TunnelConfig",
    "TunnelStatus",
    "WindowsBackend",
    "candidates",
    "choose_backend",
    "parse_wg_dump",
    "qr_png",
    "qr_text",
]
