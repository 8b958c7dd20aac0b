"""Tests of the gateway agent (nexavpn_gateway)."""
