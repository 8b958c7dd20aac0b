"""Kept so existing imports work: the HTTPS test servers live in tests/https_server.py."""

from tests.https_server import (
    HEALTH,
    HttpsServer,
    SelfSigned,
    Served,
    closed_port,
    leaf_context,
    make_self_signed,
    server_context,
)

__all__ = ["HEALTH", "HttpsServer", "SelfSigned", "Served", "closed_port", "leaf_context",
           "make_self_signed", "server_context"]
