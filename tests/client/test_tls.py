"""TLS trust and error classification against real TLS servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket

import pytest
import trustme

from nexavpn_client import errors
from nexavpn_client.api import ApiClient
from nexavpn_client.app import ClientApp
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.secrets.base import SecretKey
from nexavpn_client.tls import (
    Trust,
    format_fingerprint,
    normalize_fingerprint,
    normalize_server_url,
)
from tests.https_server import HttpsServer, closed_port, make_self_signed, server_context

FAST = (2.0, 2.0)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _ctx_for(leaf, tmp_path):
    return server_context(b"".join(b.bytes() for b in leaf.cert_chain_pems),
                          leaf.private_key_pem.bytes(), tmp_path)


@pytest.fixture
def trusted_server(ca, tmp_path):
    with HttpsServer(_ctx_for(ca.issue_cert("127.0.0.1", "localhost"), tmp_path)) as srv:
        yield srv


@pytest.fixture
def self_signed(tmp_path):
    cert = make_self_signed()
    with HttpsServer(server_context(cert.cert_pem, cert.key_pem, tmp_path)) as srv:
        srv.cert = cert
        yield srv


def _app(tmp_path, **kw) -> ClientApp:
    return ClientApp(MemoryStore(), tmp_path / "data", timeout=FAST, **kw)


# ------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://vpn.example.com", "https://vpn.example.com"),
        ("https://VPN.Example.com:443/", "https://vpn.example.com"),
        ("https://vpn.example.com:8443", "https://vpn.example.com:8443"),
        ("https://10.0.0.1:8443/nexa/", "https://10.0.0.1:8443"),
        ("https://host.example:8443/login", "https://host.example:8443"),
        ("https://vpn.example.com/devices/3/", "https://vpn.example.com"),
        ("https://[fd00::1]:8443", "https://[fd00::1]:8443"),
        ("  https://vpn.example.com/api/v1 ", "https://vpn.example.com"),
    ],
)
def test_server_url_normalised(url, expected):
    assert normalize_server_url(url) == expected


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://vpn.example.com", errors.InsecureServerUrl),
        ("vpn.example.com", errors.InvalidServerUrl),
        ("ftp://vpn.example.com", errors.InvalidServerUrl),
        ("https://user:pw@vpn.example.com", errors.InvalidServerUrl),
        ("https://vpn.example.com/#frag", errors.InvalidServerUrl),
        ("https://vpn.example.com/?a=1", errors.InvalidServerUrl),
        ("https://vpn.example.com:99999", errors.InvalidServerUrl),
        ("https://vpn.example.com:0", errors.InvalidServerUrl),
        ("https://bad_host!.com", errors.InvalidServerUrl),
        ("https://vpn.exa mple.com", errors.InvalidServerUrl),
        ("https://", errors.InvalidServerUrl),
        ("", errors.InvalidServerUrl),
    ],
)
def test_server_url_refused(url, error):
    with pytest.raises(error):
        normalize_server_url(url)


def test_http_message_is_clear():
    with pytest.raises(errors.InsecureServerUrl) as info:
        normalize_server_url("http://vpn.example.com")
    assert "https://" in str(info.value)


def test_fingerprint_forms():
    hexfp = hashlib.sha256(b"x").hexdigest()
    colon = format_fingerprint(hexfp)
    assert colon.count(":") == 31 and colon.upper() == colon
    for form in (hexfp, hexfp.upper(), colon, f"SHA256:{colon}", colon.replace(":", " ")):
        assert normalize_fingerprint(form) == hexfp
    for bad in ("abc", hexfp[:-1], hexfp + "00", "zz" * 32):
        with pytest.raises(errors.InvalidFingerprint):
            normalize_fingerprint(bad)


def test_trust_refuses_to_disable_verification():
    with pytest.raises(ValueError):
        Trust(pinned_fingerprint="ab" * 32)  # a pin without its certificate


# ------------------------------------------------------------------ real TLS


def test_trusted_by_ca_file(trusted_server, ca_file, tmp_path):
    app = _app(tmp_path, ca_file=ca_file)
    check = app.check_server(trusted_server.url)
    assert check.trusted and check.trust_mode == "ca_file" and check.version == "9.9.9"


def test_untrusted_ca_reports_fingerprint(trusted_server, tmp_path):
    app = _app(tmp_path)  # system CAs do not know the test CA
    check = app.check_server(trusted_server.url)
    assert not check.trusted and check.fingerprint
    assert "not trusted" in check.problem


def test_self_signed_shows_its_fingerprint(self_signed, tmp_path):
    check = _app(tmp_path).check_server(self_signed.url)
    assert not check.trusted
    assert normalize_fingerprint(check.fingerprint) == hashlib.sha256(
        self_signed.cert.der).hexdigest()
    assert check.subject == "CN=nexavpn.local"


def test_hostname_mismatch(ca, ca_file, tmp_path):
    leaf = ca.issue_cert("other.example")
    with HttpsServer(_ctx_for(leaf, tmp_path)) as srv, pytest.raises(errors.HostnameMismatch):
        _app(tmp_path, ca_file=ca_file).check_server(srv.url)


def test_expired_certificate(ca, ca_file, tmp_path):
    now = dt.datetime.now(dt.UTC)
    leaf = ca.issue_cert("127.0.0.1", not_before=now - dt.timedelta(days=10),
                         not_after=now - dt.timedelta(days=1))
    with HttpsServer(_ctx_for(leaf, tmp_path)) as srv, pytest.raises(errors.CertificateExpired):
        _app(tmp_path, ca_file=ca_file).check_server(srv.url)


def test_pinned_self_signed_works_and_is_stored(self_signed, tmp_path):
    app = _app(tmp_path)
    fp = hashlib.sha256(self_signed.cert.der).hexdigest()
    check = app.trust(self_signed.url, format_fingerprint(fp))
    assert check.trusted and check.trust_mode == "pinned"
    assert app.secrets.get(SecretKey.PINNED_FINGERPRINT) == fp
    again = app.check_server(self_signed.url)
    assert again.trusted and again.trust_mode == "pinned"


def test_wrong_pin_refused_and_not_stored(self_signed, tmp_path):
    app = _app(tmp_path)
    with pytest.raises(errors.PinMismatch):
        app.trust(self_signed.url, "ab" * 32)
    assert app.secrets.get(SecretKey.PINNED_FINGERPRINT) is None
    assert not app.check_server(self_signed.url).trusted


def test_pin_checked_on_every_connection(tmp_path):
    """Same client, same port, another certificate after a restart → refused."""
    first, second = make_self_signed(), make_self_signed()
    srv = HttpsServer(server_context(first.cert_pem, first.key_pem, tmp_path))
    port = srv.port
    trust = Trust(pinned_fingerprint=hashlib.sha256(first.der).hexdigest(),
                  pinned_pem=first.cert_pem.decode())
    api = ApiClient(srv.url, trust, timeout=FAST)
    try:
        assert api.health()["service"] == "nexavpn"
        assert api.health()["service"] == "nexavpn"
        srv.close()
        srv = HttpsServer(server_context(second.cert_pem, second.key_pem, tmp_path), port=port)
        api._session.close()  # force a new connection (keep-alive would reuse the old one)
        with pytest.raises(errors.PinMismatch):
            api.health()
    finally:
        srv.close()
        api.close()


def test_pinned_but_expired_self_signed(tmp_path):
    cert = make_self_signed(expired=True)
    with HttpsServer(server_context(cert.cert_pem, cert.key_pem, tmp_path)) as srv:
        trust = Trust(pinned_fingerprint=hashlib.sha256(cert.der).hexdigest(),
                      pinned_pem=cert.cert_pem.decode())
        with pytest.raises(errors.CertificateExpired):
            ApiClient(srv.url, trust, timeout=FAST).health()


def test_pin_does_not_apply_to_other_server(self_signed, tmp_path):
    app = _app(tmp_path)
    app.trust(self_signed.url, hashlib.sha256(self_signed.cert.der).hexdigest())
    other = make_self_signed()
    with HttpsServer(server_context(other.cert_pem, other.key_pem, tmp_path)) as srv:
        assert not app.check_server(srv.url).trusted


@pytest.mark.parametrize(
    ("health", "status", "ctype"),
    [
        ({"status": "ok"}, 200, "application/json"),
        ({"status": "ok", "service": "other", "api": "v1"}, 200, "application/json"),
        (b"<html>hello</html>", 200, "text/html"),
        (b"[]", 200, "application/json"),
        ({"error": "nope"}, 500, "application/json"),
    ],
)
def test_not_a_nexavpn_server(ca, ca_file, tmp_path, health, status, ctype):
    ctx = _ctx_for(ca.issue_cert("127.0.0.1"), tmp_path)
    srv = HttpsServer(ctx, health=health, status=status, content_type=ctype)
    with srv, pytest.raises(errors.NotNexaVpnServer):
        _app(tmp_path, ca_file=ca_file).check_server(srv.url)


def test_wrong_api_version_is_not_our_server(ca, ca_file, tmp_path):
    ctx = _ctx_for(ca.issue_cert("127.0.0.1"), tmp_path)
    body = {"status": "ok", "service": "nexavpn", "version": "2", "api": "v2"}
    srv = HttpsServer(ctx, health=body)
    with srv, pytest.raises(errors.NotNexaVpnServer, match="different API version"):
        _app(tmp_path, ca_file=ca_file).check_server(srv.url)


def test_connection_refused(tmp_path):
    with pytest.raises(errors.ConnectionRefused):
        _app(tmp_path).check_server(f"https://127.0.0.1:{closed_port()}")


def test_timeout_when_server_never_answers(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts; nobody ever speaks TLS
        port = listener.getsockname()[1]
        app = ClientApp(MemoryStore(), tmp_path / "data", timeout=(0.5, 0.5))
        with pytest.raises(errors.ServerTimeout):
            app.check_server(f"https://127.0.0.1:{port}")


def test_dns_failure(tmp_path, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(errors.DnsLookupFailed) as info:
        _app(tmp_path).check_server("https://vpn.nowhere.test")
    assert "could not be found" in str(info.value)


def test_messages_are_distinct():
    classes = [errors.DnsLookupFailed, errors.ConnectionRefused, errors.ServerTimeout,
               errors.CertificateUntrusted, errors.CertificateExpired, errors.HostnameMismatch,
               errors.PinMismatch, errors.NotNexaVpnServer, errors.InsecureServerUrl]
    messages = {str(c()) for c in classes}
    assert len(messages) == len(classes)


def test_login_with_trust_fingerprint_pins_then_fails_on_login_endpoint(self_signed, tmp_path):
    """The pin is stored by login's trust step; the fake server has no /auth/login (404)."""
    app = _app(tmp_path)
    fp = hashlib.sha256(self_signed.cert.der).hexdigest()
    with pytest.raises(errors.ApiError):
        app.login(self_signed.url, "alice", "pw", trust_fingerprint=fp)
    assert app.secrets.get(SecretKey.PINNED_FINGERPRINT) == fp


def test_login_untrusted_raises_with_fingerprint(self_signed, tmp_path):
    app = _app(tmp_path)
    with pytest.raises(errors.CertificateUntrusted) as info:
        app.login(self_signed.url, "alice", "pw")
    assert normalize_fingerprint(info.value.fingerprint) == hashlib.sha256(
        self_signed.cert.der).hexdigest()


def test_changed_certificate_reports_new_fingerprint(tmp_path):
    first, second = make_self_signed(), make_self_signed()
    srv = HttpsServer(server_context(first.cert_pem, first.key_pem, tmp_path))
    port = srv.port
    app = _app(tmp_path)
    try:
        app.trust(srv.url, hashlib.sha256(first.der).hexdigest())
        srv.close()
        srv = HttpsServer(server_context(second.cert_pem, second.key_pem, tmp_path), port=port)
        with pytest.raises(errors.PinMismatch) as info:
            app.check_server(srv.url)
        assert normalize_fingerprint(info.value.fingerprint) == hashlib.sha256(
            second.der).hexdigest()
        # Trusting the new one (the administrator confirmed it) replaces the pin.
        app.trust(srv.url, info.value.fingerprint)
        assert app.check_server(srv.url).trusted
    finally:
        srv.close()
