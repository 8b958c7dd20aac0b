"""nexavpn_desktop package."""

__version__ = "0.1.0"
