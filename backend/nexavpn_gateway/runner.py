"""The agent's process runner: the shared one (:mod:`nexavpn_shared.runner`), under the names
the agent's modules and tests import. Every external program (wg, ip, nft, sysctl,
wireguard-go) is started through it.
"""

from __future__ import annotations

from nexavpn_shared.runner import (
    DEFAULT_TIMEOUT,
    Call,
    CommandError,
    Handler,
    RecordingRunner,
    Result,
    Runner,
    SubprocessRunner,
    netns_prefix,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "Call",
    "CommandError",
    "Handler",
    "RecordingRunner",
    "Result",
    "Runner",
    "SubprocessRunner",
    "netns_prefix",
]
