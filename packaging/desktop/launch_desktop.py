"""PyInstaller entry script of the GUI bundle: the same as the ``nexavpn-desktop`` gui-script."""

from nexavpn_desktop.app import main

if __name__ == "__main__":
    raise SystemExit(main())
