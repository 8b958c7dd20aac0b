#!/usr/bin/env bash
# Installs the Debian packages NexaVPN's run and test commands need, only when missing.
# Why a script: a fresh machine has none of them, and the README's two commands must work there.
set -euo pipefail

want=(wireguard-tools wireguard-go nftables iproute2 iputils-ping gnome-keyring dbus dbus-x11
      libsecret-tools postgresql xvfb fonts-dejavu-core openssl ca-certificates
      libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
      libxcb-render-util0 libxcb-image0 libglib2.0-0 qrencode nginx shellcheck
      python3-venv libwayland-client0 libwayland-cursor0 libwayland-egl1 binutils)
# The admin UI's end-to-end test drives Debian's Chromium (no browser downloads are possible);
# always installed because .ci/run runs that test. NEXAVPN_WITH_BROWSER=0 skips it.
if [ "${NEXAVPN_WITH_BROWSER:-1}" = "1" ]; then want+=(chromium chromium-driver); fi
# PyInstaller (the desktop bundle and its tests) needs the Python shared library; Debian ships it
# apart from python3 (libpython3.11 on Debian 12). Matched to the python3 the venv is made from.
if pyver=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
    && apt-cache show "libpython$pyver" >/dev/null 2>&1; then
  want+=("libpython$pyver")
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "Installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
