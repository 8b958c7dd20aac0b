#!/usr/bin/env bash
# Builds the macOS desktop client: NexaVPN.app (nexavpn-desktop + nexavpn-client in
# Contents/MacOS), a .pkg installer (app in /Applications, CLI linked into /usr/local/bin) and a
# .dmg; signs and notarises them when the inputs below are given. Runs on macOS only (the CI
# job `macos` in .github/workflows/desktop.yml); it cannot be built on Linux.
#
#   packaging/desktop/build-macos.sh
#
# Inputs (environment; all optional — without them the result is ad-hoc signed and not
# notarised, fine for testing, refused by Gatekeeper on other Macs):
#   NEXAVPN_CODESIGN_ID     "Developer ID Application: …" identity in the keychain (app, dmg)
#   NEXAVPN_INSTALLER_ID    "Developer ID Installer: …" identity (pkg)
#   NEXAVPN_TEAM_ID         Apple team id; checked against the signatures made
#   NEXAVPN_NOTARY_PROFILE  keychain profile of `xcrun notarytool store-credentials`; when set,
#                           the pkg and dmg are submitted, waited for and stapled
#   NEXAVPN_KEYCHAIN        keychain to search for the identities (CI: a temporary one)
#   NEXAVPN_PKG_OUT         output directory (default: packaging/out)
#   NEXAVPN_BUILD_PYTHON    interpreter with '.[packaging]' installed (default: .venv/bin/python)
#
# Output (printed, one a line): NexaVPN.app, nexavpn-desktop-<v>-macos-<arch>.pkg and .dmg.
set -euo pipefail  # bash 3.2 (macOS /bin/bash) safe: empty arrays are expanded with ${a[@]+…}

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/packaging/desktop"
out=${NEXAVPN_PKG_OUT:-$root/packaging/out}
sign_id=${NEXAVPN_CODESIGN_ID:-}
installer_id=${NEXAVPN_INSTALLER_ID:-}
team_id=${NEXAVPN_TEAM_ID:-}
notary_profile=${NEXAVPN_NOTARY_PROFILE:-}
keychain=${NEXAVPN_KEYCHAIN:-}
if [ -n "${NEXAVPN_BUILD_PYTHON:-}" ]; then py=$NEXAVPN_BUILD_PYTHON
elif [ -x "$root/.venv/bin/python" ]; then py=$root/.venv/bin/python
else py=python3; fi

[ "$(uname -s)" = Darwin ] || { echo "build-macos: run this on macOS" >&2; exit 1; }
for tool in codesign pkgbuild productbuild hdiutil xcrun; do
  command -v "$tool" >/dev/null || { echo "build-macos: $tool is missing (Xcode tools)" >&2; exit 1; }
done
if [ -n "$notary_profile" ] && [ -z "$sign_id" ]; then
  echo "build-macos: notarisation needs NEXAVPN_CODESIGN_ID (Apple notarises signed code only)" >&2
  exit 2
fi

version=$("$py" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$root/pyproject.toml")
arch=$(uname -m)
base="nexavpn-desktop-$version-macos-$arch"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
kc_args=()
[ -n "$keychain" ] && kc_args=(--keychain "$keychain")

# 1. The .app. With an identity PyInstaller signs every binary inside (hardened runtime,
#    secure timestamp, our entitlements); without one they are ad-hoc signed ("-").
QT_QPA_PLATFORM=offscreen "$py" "$here/make_icons.py" "$work/icons" >&2
NEXAVPN_ICON_DIR="$work/icons" NEXAVPN_CODESIGN_ID="$sign_id" \
NEXAVPN_MAC_ENTITLEMENTS="$here/macos/entitlements.plist" \
  "$py" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$work/dist" --workpath "$work/build" "$here/nexavpn-desktop.spec" >&2
app="$work/dist/NexaVPN.app"
"$app/Contents/MacOS/nexavpn-client" --version >&2

# 2. The outer signature of the bundle (again, so it carries our entitlements), then verify.
if [ -n "$sign_id" ]; then
  codesign --force --timestamp --options runtime --sign "$sign_id" ${kc_args[@]+"${kc_args[@]}"} \
    --entitlements "$here/macos/entitlements.plist" "$app"
else  # ad-hoc: no identity, so no secure timestamp either
  codesign --force --sign - --entitlements "$here/macos/entitlements.plist" "$app"
fi
codesign --verify --deep --strict --verbose=2 "$app" >&2
if [ -n "$sign_id" ] && [ -n "$team_id" ]; then
  got=$(codesign -dv "$app" 2>&1 | sed -n 's/^TeamIdentifier=//p')
  [ "$got" = "$team_id" ] || { echo "build-macos: signed by team '$got', expected '$team_id'" >&2; exit 1; }
fi
[ -n "$sign_id" ] || echo "build-macos: NEXAVPN_CODESIGN_ID unset: ad-hoc signed, not notarised" >&2
rm -rf "$out/NexaVPN.app"
ditto "$app" "$out/NexaVPN.app"
echo "$out/NexaVPN.app"

# 3. The .pkg: the app in /Applications; postinstall links the CLI into /usr/local/bin.
pkg="$out/$base.pkg"
pkgbuild --component "$app" --install-location /Applications \
  --identifier org.nexavpn.desktop --version "$version" \
  --scripts "$here/macos/pkg-scripts" "$work/component.pkg" >&2
pb_args=(--package "$work/component.pkg" --identifier org.nexavpn.desktop.installer
         --version "$version")
[ -n "$installer_id" ] && pb_args+=(--sign "$installer_id" --timestamp ${kc_args[@]+"${kc_args[@]}"})
productbuild "${pb_args[@]}" "$pkg" >&2
[ -n "$installer_id" ] && pkgutil --check-signature "$pkg" >&2
echo "$pkg"

# 4. The .dmg: the app and a link to /Applications to drag it onto.
dmg="$out/$base.dmg"
mkdir -p "$work/dmg"
ditto "$app" "$work/dmg/NexaVPN.app"
ln -s /Applications "$work/dmg/Applications"
rm -f "$dmg"
hdiutil create -volname "NexaVPN $version" -srcfolder "$work/dmg" -ov -format UDZO "$dmg" >&2
if [ -n "$sign_id" ]; then
  codesign --force --timestamp --sign "$sign_id" ${kc_args[@]+"${kc_args[@]}"} "$dmg"
fi
echo "$dmg"

# 5. Notarisation: submit, wait for Apple's verdict, staple the ticket so Gatekeeper can check
#    offline. The app inside the dmg/pkg is covered by the ticket of its container.
if [ -n "$notary_profile" ]; then
  for f in "$pkg" "$dmg"; do
    xcrun notarytool submit "$f" --keychain-profile "$notary_profile" ${kc_args[@]+"${kc_args[@]}"} --wait >&2
    xcrun stapler staple "$f" >&2
    xcrun stapler validate "$f" >&2
  done
  spctl --assess --type install --verbose=2 "$pkg" >&2
fi
