"""The server's URL and certificate fingerprint for the admin UI, and the agent's start command."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import trustme

from nexavpn_api.tls import cert_fingerprint, ensure_self_signed

INFO = "/api/v1/server-info"
GWS = "/api/v1/gateways"


def _gateway(client, headers, name="gw-1", endpoint="vpn.example.com:51999", cidr="10.8.0.0/24"):
    resp = client.post(GWS, headers=headers,
                       json={"name": name, "endpoint": endpoint, "vpn_cidr": cidr})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_self_signed_server_shows_its_fingerprint_and_the_pinned_agent_command(
        client, admin_headers, api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, _key, _ = ensure_self_signed(tmp_path / "tls", ["vpn.example.net", "localhost"])
    monkeypatch.setenv("NEXAVPN_TLS_CERT", str(cert))
    monkeypatch.setenv("NEXAVPN_PUBLIC_URL", "https://vpn.example.net:8443/")
    body = client.get(INFO, headers=admin_headers).get_json()
    fp = cert_fingerprint(cert)
    assert body["public_url"] == "https://vpn.example.net:8443"
    assert body["tls"]["fingerprint"] == fp and len(fp) == 95
    assert body["tls"]["self_signed"] is True
    assert "vpn.example.net" in body["tls"]["subject"]

    created = _gateway(client, admin_headers)
    argv = shlex.split(created["agent_command"])
    assert argv[:2] == ["nexavpn-gateway", "run"]
    opts = dict(zip(argv[2::2], argv[3::2], strict=True))
    assert opts == {
        "--server": "https://vpn.example.net:8443", "--token-file": "/etc/nexavpn/gateway.token",
        "--interface": "wg0", "--listen-port": "51999", "--server-fingerprint": fp,
    }
    assert created["agent_token"] not in created["agent_command"]
    # A new token comes with the same command; the old token is refused by the agent API.
    rotated = client.post(f"{GWS}/{created['id']}/token", headers=admin_headers).get_json()
    assert rotated["agent_command"] == created["agent_command"]
    old = {"Authorization": f"Bearer {created['agent_token']}"}
    new = {"Authorization": f"Bearer {rotated['agent_token']}"}
    assert client.get("/api/v1/gateway-agent/config", headers=old).status_code == 401
    assert client.get("/api/v1/gateway-agent/config", headers=new).status_code == 200
    # Only admins see it.
    user = api.user_headers("bob")
    assert client.get(INFO, headers=user).status_code == 403
    assert client.post(f"{GWS}/{created['id']}/token", headers=user).status_code == 403
    assert client.get(INFO).status_code == 401


def test_ca_signed_or_proxied_server_needs_no_pin(client, admin_headers, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEXAVPN_TLS_CERT", raising=False)
    monkeypatch.delenv("NEXAVPN_PUBLIC_URL", raising=False)
    body = client.get(INFO, headers=admin_headers).get_json()
    assert body == {"public_url": "http://localhost", "tls": None}  # the request's origin
    created = _gateway(client, admin_headers, endpoint="[2001:db8::1]:51820")
    assert "--server-fingerprint" not in created["agent_command"]
    assert "--listen-port 51820" in created["agent_command"]

    ca = trustme.CA()
    leaf = tmp_path / "leaf.pem"
    ca.issue_cert("vpn.example.org").cert_chain_pems[0].write_to_path(str(leaf))
    monkeypatch.setenv("NEXAVPN_TLS_CERT", str(leaf))
    body = client.get(INFO, headers=admin_headers).get_json()
    assert body["tls"]["self_signed"] is False
    other = _gateway(client, admin_headers, name="gw-2", endpoint="gw2.example.org:51820",
                     cidr="10.9.0.0/24")
    assert "--server-fingerprint" not in other["agent_command"]
