"""The typed saved state reads and writes the state file's JSON exactly as before."""

from __future__ import annotations

import socket
import ssl

from nexavpn_client import errors, tls
from nexavpn_client.app import ClientApp
from nexavpn_client.net_errors import classify_exception
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.state import SavedState
from nexavpn_client.storage import StateStore

#: A state file's contents as the dict-based client wrote it (every key it ever used).
LEGACY = {
    "user": {"id": 7, "username": "alice", "role": "user"},
    "device": {"id": 3, "name": "laptop", "vpn_ip": "10.8.0.2", "status": "active",
               "public_key": "pk"},
    "profile": {"revision": 4, "config": "[Interface]\n"},
    "device_name": "laptop",
    "revoked": False,
    "key_mismatch": False,
    "last_sync_at": "2026-01-01T00:00:00Z",
    "offline_since": None,
    "connected_at": 1767225600.5,
    "pinned_for": "vpn.example.test:443",
    "ca_file": "/etc/ca.pem",
    "tunnel_name": "nxv-abc",
}


def test_legacy_file_reads_into_fields():
    state = SavedState.from_dict(LEGACY)
    assert state.user == LEGACY["user"] and state.device == LEGACY["device"]
    assert state.profile == LEGACY["profile"] and state.device_name == "laptop"
    assert state.revoked is False and state.key_mismatch is False
    assert state.last_sync_at == "2026-01-01T00:00:00Z" and state.offline_since is None
    assert state.connected_at == 1767225600.5
    assert (state.pinned_for, state.ca_file, state.tunnel_name) == (
        "vpn.example.test:443", "/etc/ca.pem", "nxv-abc")
    assert state.extra == {} and state.device_status == "active"


def test_written_file_has_the_same_keys_and_values():
    """Only False/None entries are left out, which every reader treats as absent anyway."""
    written = SavedState.from_dict(LEGACY).to_dict()
    assert written == {k: v for k, v in LEGACY.items() if v not in (None, False)}
    assert SavedState.from_dict(written) == SavedState.from_dict(LEGACY)
    flagged = SavedState.from_dict({**LEGACY, "revoked": True, "key_mismatch": True})
    assert flagged.to_dict()["revoked"] is True and flagged.to_dict()["key_mismatch"] is True


def test_unknown_keys_survive_a_round_trip():
    data = {"some_future_key": {"x": 1}, "device_name": "pc"}
    state = SavedState.from_dict(data)
    assert state.extra == {"some_future_key": {"x": 1}}
    assert state.to_dict() == data


def test_odd_values_read_as_absent():
    state = SavedState.from_dict({"device": "oops", "profile": [1], "user": "x",
                                  "tunnel_name": "", "connected_at": "soon", "revoked": 1})
    assert state.device is None and state.profile is None and state.user is None
    assert state.tunnel_name is None and state.connected_at is None and state.revoked is True
    assert SavedState.from_dict({}) == SavedState()
    assert SavedState().to_dict() == {}


def test_forget_device_keeps_sign_in_and_trust():
    state = SavedState.from_dict({**LEGACY, "revoked": True, "offline_since": "x"})
    state.forget_device()
    assert state.to_dict() == {k: LEGACY[k] for k in
                               ("user", "pinned_for", "ca_file", "tunnel_name")}


def test_client_reads_a_state_file_written_by_the_dict_version(tmp_path):
    secrets_store = MemoryStore()
    StateStore(tmp_path, secrets_store).save(LEGACY)
    app = ClientApp(secrets_store, tmp_path)
    assert app.tunnel_name == "nxv-abc"
    status = app.status()
    assert status.enrolled and status.device_name == "laptop" and status.user == "alice"
    assert status.profile_revision == 4 and status.last_sync == "2026-01-01T00:00:00Z"


def test_error_classification_lives_in_net_errors():
    assert classify_exception.__module__ == "nexavpn_client.net_errors"
    assert not hasattr(tls, "_classify") and not hasattr(tls, "_chain")
    assert isinstance(classify_exception(socket.gaierror(-2, "no such name")),
                      errors.DnsLookupFailed)
    assert isinstance(classify_exception(ConnectionRefusedError()), errors.ConnectionRefused)
    untrusted = ssl.SSLCertVerificationError("self-signed certificate")
    assert isinstance(classify_exception(untrusted), errors.CertificateUntrusted)
    assert isinstance(classify_exception(untrusted, pinned=True), errors.PinMismatch)
