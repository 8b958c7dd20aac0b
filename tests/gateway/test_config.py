"""Settings precedence: CLI > env > config file (TOML or INI), and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexavpn_gateway.config import SettingsError, load_settings, read_token

BASE = {"server": "https://cp.example", "token_file": "/t", "interface": "wg0"}


def test_cli_over_env_over_file(tmp_path: Path) -> None:
    conf = tmp_path / "gateway.conf"
    conf.write_text('[gateway]\nserver = "https://file.example"\ntoken_file = "/file"\n'
                    'interface = "wgfile"\nlisten_port = 51000\npoll_wait = 10\n')
    env = {"NEXAVPN_GATEWAY_INTERFACE": "wgenv", "NEXAVPN_GATEWAY_LISTEN_PORT": "52000"}
    s = load_settings({"listen_port": 53000}, env, conf)
    assert s.server == "https://file.example"
    assert s.token_file == Path("/file")
    assert s.interface == "wgenv"
    assert s.listen_port == 53000
    assert s.poll_wait == 10


def test_ini_file_and_env_config_path(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    conf = tmp_path / "gateway.ini"
    conf.write_text("[gateway]\nserver = https://ini.example\ntoken_file = /ini\n"
                    f"interface = wg7\nstate_dir = /var/lib/x\nca_file = {ca}\n")
    s = load_settings({}, {"NEXAVPN_GATEWAY_CONFIG": str(conf)})
    assert (s.server, s.interface, s.state_dir, s.ca_file) == (
        "https://ini.example", "wg7", Path("/var/lib/x"), ca)
    assert s.listen_port == 51820


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        ({"server": None}, "--server"),
        ({"interface": "much-too-long-name"}, "interface"),
        ({"interface": "wg0;rm"}, "interface"),
        ({"listen_port": 0}, "listen_port"),
        ({"poll_wait": 61}, "poll_wait"),
        ({"log_level": "LOUD"}, "log_level"),
    ],
)
def test_invalid_settings(cli: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({**BASE, **cli}, {}, None)


def test_ca_file_must_be_a_readable_file(tmp_path: Path) -> None:
    """Refused at start (exit 2 from the CLI), before the interface is touched."""
    with pytest.raises(SettingsError, match=r"ca_file .*missing\.pem"):
        load_settings({**BASE, "ca_file": str(tmp_path / "missing.pem")}, {}, None)
    with pytest.raises(SettingsError, match="ca_file"):
        load_settings({**BASE, "ca_file": str(tmp_path)}, {}, None)  # a directory


def test_unknown_key_in_file(tmp_path: Path) -> None:
    conf = tmp_path / "g.conf"
    conf.write_text("[gateway]\ntoken = abc\n")
    with pytest.raises(SettingsError, match="unknown settings: token"):
        load_settings(BASE, {}, conf)


def test_read_token(tmp_path: Path) -> None:
    t = tmp_path / "token"
    t.write_text("tok-123\n")
    t.chmod(0o600)
    assert read_token(t) == "tok-123"
    t.write_text("two words\n")
    with pytest.raises(SettingsError) as info:
        read_token(t)
    assert "two words" not in str(info.value)
    with pytest.raises(SettingsError):
        read_token(tmp_path / "missing")
