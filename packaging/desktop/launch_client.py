"""PyInstaller entry script of the CLI bundle: the same as the ``nexavpn-client`` script."""

from nexavpn_client.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
