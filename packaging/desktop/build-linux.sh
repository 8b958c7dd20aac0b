#!/usr/bin/env bash
# Builds the Linux desktop client: a PyInstaller one-dir bundle (nexavpn-desktop + nexavpn-client
# sharing one _internal/ folder) and a Debian package of it with dpkg-deb.
#
#   packaging/desktop/build-linux.sh [--no-deb]
#
# Environment:
#   NEXAVPN_PKG_VERSION   Debian version (default: <pyproject version>-1)
#   NEXAVPN_PKG_OUT       output directory (default: packaging/out)
#   NEXAVPN_BUILD_PYTHON  an interpreter with the project ('.[packaging]') and PyInstaller
#                         installed (default: .venv/bin/python, else python3)
#
# Output (paths printed on stdout, one a line):
#   $NEXAVPN_PKG_OUT/nexavpn-desktop/                         the one-dir bundle
#   $NEXAVPN_PKG_OUT/nexavpn-desktop_<version>_<arch>.deb     /opt/nexavpn/desktop + /usr/bin links,
#                                                             .desktop entry and icon
# The .deb's Depends are worked out from the bundle: every shared library the bundle loads from
# the system (PyInstaller leaves out libc, GL/EGL, libxcb, Wayland) is mapped to its Debian
# package with dpkg -S, plus wireguard-tools and iproute2 for the tunnel.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/packaging/desktop"
out=${NEXAVPN_PKG_OUT:-$root/packaging/out}
build_deb=1
for arg in "$@"; do
  case $arg in
    --no-deb) build_deb=0 ;;
    *) echo "usage: build-linux.sh [--no-deb]" >&2; exit 2 ;;
  esac
done
if [ -n "${NEXAVPN_BUILD_PYTHON:-}" ]; then py=$NEXAVPN_BUILD_PYTHON
elif [ -x "$root/.venv/bin/python" ]; then py=$root/.venv/bin/python
else py=python3; fi

"$py" -c 'import PyInstaller, PySide6' 2>/dev/null || {
  echo "build-linux: $py lacks PyInstaller or PySide6 (pip install -e '.[packaging]')" >&2
  exit 1; }
"$py" "$here/check_python_shared.py" || exit 1  # libpython3.x missing: say which package
command -v objcopy >/dev/null || {  # PyInstaller appends the archive to the ELF with it
  echo "build-linux: objcopy is missing (apt-get install binutils)" >&2; exit 1; }
if [ "$build_deb" = 1 ]; then
  for tool in dpkg-deb dpkg ldd; do
    command -v "$tool" >/dev/null || { echo "build-linux: $tool is missing" >&2; exit 1; }
  done
fi

version=$("$py" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$root/pyproject.toml")
debver=${NEXAVPN_PKG_VERSION:-$version-1}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# 1. Icons (drawn by the app's own code) and the bundle.
QT_QPA_PLATFORM=offscreen "$py" "$here/make_icons.py" "$work/icons" >&2
NEXAVPN_ICON_DIR="$work/icons" "$py" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$work/dist" --workpath "$work/build" "$here/nexavpn-desktop.spec" >&2
rm -rf "$out/nexavpn-desktop"
mv "$work/dist/nexavpn-desktop" "$out/nexavpn-desktop"
bundle="$out/nexavpn-desktop"
"$bundle/nexavpn-client" --version >/dev/null
echo "$bundle"
[ "$build_deb" = 1 ] || exit 0

# 2. Which system packages the bundle needs at run time.
libdirs="$bundle/_internal:$bundle/_internal/PySide6/Qt/lib"
find "$bundle" -type f \( -name '*.so' -o -name '*.so.*' -o -name 'nexavpn-*' \) -print0 \
  | xargs -0 -n 50 env LD_LIBRARY_PATH="$libdirs" ldd >"$work/ldd.txt" 2>/dev/null || true
if grep -q 'not found' "$work/ldd.txt"; then
  # PyInstaller copies what the build machine has; a library missing here is missing for users.
  echo "build-linux: the bundle needs libraries this machine lacks:" >&2
  grep 'not found' "$work/ldd.txt" | sort -u >&2
  exit 1
fi
system_libs() {  # every library outside the bundle that its programs and libraries load
  awk -v b="$bundle" '$2 == "=>" && $3 ~ /^\// && index($3, b) != 1 { print $3 }' \
    "$work/ldd.txt" | sort -u
}
owner_of() {  # $1 = library path → its Debian package (usrmerge: try /usr too)
  local lib=$1 real
  real=$(readlink -f "$lib")
  for p in "$lib" "/usr$lib" "$real" "/usr$real" "${real#/usr}"; do
    dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1 && return 0
  done
  echo "build-linux: no Debian package owns $lib" >&2
  return 1
}
pkgs=()
while IFS= read -r lib; do
  pkgs+=("$(owner_of "$lib")")
done < <(system_libs)
glibc=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-.*//')
depends="libc6 (>= $glibc)"
for p in $(printf '%s\n' "${pkgs[@]}" | sort -u); do
  [ "$p" = libc6 ] || depends="$depends, $p"
done
depends="$depends, wireguard-tools, iproute2"
arch=$(dpkg --print-architecture)

# 3. The package.
stage="$work/stage"
mkdir -p "$stage/DEBIAN" "$stage/opt/nexavpn" "$stage/usr/bin" \
  "$stage/usr/share/applications" "$stage/usr/share/icons/hicolor/256x256/apps" \
  "$stage/usr/share/doc/nexavpn-desktop"
cp -a "$bundle" "$stage/opt/nexavpn/desktop"
ln -s ../../opt/nexavpn/desktop/nexavpn-desktop "$stage/usr/bin/nexavpn-desktop"
ln -s ../../opt/nexavpn/desktop/nexavpn-client "$stage/usr/bin/nexavpn-client"
install -m 0644 "$work/icons/nexavpn.png" "$stage/usr/share/icons/hicolor/256x256/apps/nexavpn.png"
install -m 0644 "$here/linux/org.nexavpn.Desktop.desktop" "$stage/usr/share/applications/"
[ -f "$root/docs/desktop-packaging.md" ] && \
  install -m 0644 "$root/docs/desktop-packaging.md" "$stage/usr/share/doc/nexavpn-desktop/"
{
  echo "Package: nexavpn-desktop"
  echo "Version: $debver"
  echo "Architecture: $arch"
  echo "Maintainer: NexaVPN maintainers <maintainers@nexavpn.invalid>"
  echo "Section: net"
  echo "Priority: optional"
  echo "Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
  echo "Depends: $depends"
  echo "Recommends: gnome-keyring | kwalletmanager | keepassxc"
  echo "Suggests: network-manager, wireguard-go"
  echo "Description: NexaVPN desktop client (app and headless CLI)
 The NexaVPN desktop app nexavpn-desktop (Qt) and the command-line client
 nexavpn-client: sign in to a NexaVPN server over HTTPS, register this computer
 with a WireGuard key made on it, and bring the tunnel up. Self-contained bundle
 in /opt/nexavpn/desktop; secrets go to the Secret Service keyring."
} >"$stage/DEBIAN/control"
deb="$out/nexavpn-desktop_${debver}_${arch}.deb"
# Mostly shared libraries: zstd -9 is 15% smaller than gzip and 15x faster than xz here
# (57 MB in 5 s; xz: 46 MB in 85 s). dpkg reads zstd since 1.21.18 (Debian 12, Ubuntu 22.04).
dpkg-deb --root-owner-group -Zzstd -z9 --build "$stage" "$deb" >/dev/null
echo "$deb"
