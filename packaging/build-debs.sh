#!/usr/bin/env bash
# Builds the Debian packages nexavpn-server and nexavpn-gateway with dpkg-deb.
#
#   packaging/build-debs.sh [server] [gateway]       (default: both)
#
# Environment:
#   NEXAVPN_PKG_VERSION   Debian version (default: <pyproject version>-1); tests build a higher one
#   NEXAVPN_PKG_OUT       output directory (default: packaging/out)
#   NEXAVPN_BUILD_PYTHON  the interpreter the target runs (default: /usr/bin/python3, Debian's)
#
# What a package holds: the project wheel and every dependency as wheels under
# /opt/nexavpn/<name>/wheels, a requirements line, the systemd unit, a conffile in /etc/nexavpn.
# The virtualenv itself is made by the postinst, at its final path, with the target's own
# python3 and `pip install --no-index` from those wheels. Why: a venv hard-codes its path and
# its interpreter, so one built elsewhere and moved (or staged under a prefix) breaks in subtle
# ways; built in place it is always right, and the install needs no network.
# Wheels are built here for NEXAVPN_BUILD_PYTHON; compiled ones (cryptography, psycopg, argon2)
# tie the package to that Python minor version and CPU, which the control file then states.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pkgdir="$root/packaging"
out=${NEXAVPN_PKG_OUT:-$pkgdir/out}
py=${NEXAVPN_BUILD_PYTHON:-/usr/bin/python3}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(server gateway)

for tool in dpkg-deb dpkg "$py"; do
  command -v "$tool" >/dev/null || { echo "build-debs: $tool is missing" >&2; exit 1; }
done
"$py" -c 'import venv, ensurepip' 2>/dev/null || {
  echo "build-debs: $py lacks venv/ensurepip (apt-get install python3-venv)" >&2; exit 1; }

pyver=$("$py" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$root/pyproject.toml")
debver=${NEXAVPN_PKG_VERSION:-$pyver-1}
pymm=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pynext=$("$py" -c 'import sys; print("%d.%d" % (sys.version_info[0], sys.version_info[1] + 1))')
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/src" "$work/dist"

# 1. The project wheel, from a clean copy of the sources (never the admin UI's node_modules).
tar -C "$root" --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' -cf - \
  pyproject.toml README.md backend/nexavpn_api backend/nexavpn_gateway shared desktop \
  | tar -C "$work/src" -xf -
"$py" -m venv "$work/buildenv"
pip=("$work/buildenv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" wheel --no-deps --wheel-dir "$work/dist" "$work/src"
whl=$(ls "$work/dist"/nexavpn-*.whl)

control_field_depends() {  # $1 = wheels dir → the python3 dependency and the architecture
  local w
  for w in "$1"/*.whl; do
    case $w in
      *-none-any.whl) ;;
      *) echo "python3 (>= $pymm), python3 (<< $pynext)|$arch"; return ;;
    esac
  done
  echo "python3 (>= 3.11)|all"
}

build_one() {
  local name=$1 pkg="nexavpn-$1" stage="$work/stage-$1" app
  app="$stage/opt/nexavpn/$name"
  mkdir -p "$app/wheels" "$stage/DEBIAN" "$stage/lib/systemd/system" "$stage/etc/nexavpn" \
    "$stage/usr/share/doc/$pkg"
  "${pip[@]}" wheel --wheel-dir "$app/wheels" "${whl}[$name]"
  echo "nexavpn[$name]==$pyver" >"$app/requirements.txt"
  echo "$debver" >"$app/PACKAGE_VERSION"

  local deps depends debarch extra_depends recommends description
  deps=$(control_field_depends "$app/wheels")
  depends=${deps%|*}
  debarch=${deps#*|}
  case $name in
    server)
      install -m 0644 "$pkgdir/server/gunicorn.conf.py" "$app/gunicorn.conf.py"
      install -m 0644 "$pkgdir/server/nexavpn-server.service" "$stage/lib/systemd/system/"
      install -m 0644 "$pkgdir/server/server.env" "$stage/etc/nexavpn/server.env"
      install -D -m 0755 "$pkgdir/server/nexavpn-server.sh" "$stage/usr/bin/nexavpn-server"
      mkdir -p "$stage/usr/share/nexavpn/nginx"
      install -m 0644 "$pkgdir"/nginx/*.conf "$stage/usr/share/nexavpn/nginx/"
      if [ -f "$root/backend/admin-ui/dist/index.html" ]; then
        mkdir -p "$stage/usr/share/nexavpn/admin-ui"
        cp -r "$root/backend/admin-ui/dist/." "$stage/usr/share/nexavpn/admin-ui/"
      else
        echo "build-debs: backend/admin-ui/dist is not built; the package ships no admin UI" \
          "(scripts/build-admin-ui.sh builds it)" >&2
      fi
      extra_depends="python3-venv, passwd, util-linux"
      recommends="nginx, postgresql"
      description="NexaVPN control plane (API, admin UI files, ops CLI)
 The Flask API served by gunicorn as the nexavpn user (systemd unit nexavpn-server),
 its ops console /usr/bin/nexavpn-server (migrate, create-admin, backup, restore),
 the admin web UI and an nginx site for TLS. Settings: /etc/nexavpn/server.env;
 data: /var/lib/nexavpn/server. See /usr/share/doc/nexavpn-server/operations.md."
      printf '/etc/nexavpn/server.env\n' >"$stage/DEBIAN/conffiles"
      ;;
    gateway)
      install -m 0644 "$pkgdir/gateway/nexavpn-gateway.service" "$stage/lib/systemd/system/"
      install -m 0644 "$pkgdir/gateway/gateway.env" "$stage/etc/nexavpn/gateway.env"
      extra_depends="python3-venv, passwd, wireguard-tools, nftables, iproute2, procps, wireguard-go | wireguard-modules"
      recommends=""
      description="NexaVPN gateway agent (WireGuard peers and nftables policy)
 The agent nexavpn-gateway (systemd unit nexavpn-gateway) long-polls the control
 plane and applies peers with wg and each peer's destinations with nftables,
 with only CAP_NET_ADMIN and CAP_NET_RAW. Settings: /etc/nexavpn/gateway.env;
 token: /etc/nexavpn/gateway.token; key: /var/lib/nexavpn/gateway."
      printf '/etc/nexavpn/gateway.env\n' >"$stage/DEBIAN/conffiles"
      ;;
    *) echo "build-debs: unknown package $name" >&2; exit 2 ;;
  esac
  [ -f "$root/docs/operations.md" ] && install -m 0644 "$root/docs/operations.md" "$stage/usr/share/doc/$pkg/"
  for script in postinst prerm postrm; do
    install -m 0755 "$pkgdir/$name/debian/$script" "$stage/DEBIAN/$script"
  done

  {
    echo "Package: $pkg"
    echo "Version: $debver"
    echo "Architecture: $debarch"
    echo "Maintainer: NexaVPN maintainers <maintainers@nexavpn.invalid>"
    echo "Section: net"
    echo "Priority: optional"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
    echo "Depends: $depends, $extra_depends"
    [ -n "$recommends" ] && echo "Recommends: $recommends"
    echo "Description: $description"
  } >"$stage/DEBIAN/control"

  local deb="$out/${pkg}_${debver}_${debarch}.deb"
  # Wheels are compressed already: gzip is as small as xz here and much faster.
  dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
  echo "$deb"
}

for t in "${targets[@]}"; do
  build_one "$t"
done
