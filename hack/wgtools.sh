#!/usr/bin/env bash
# wireguard-tools (wg, wg-quick) from Debian's package, unpacked (not
# installed) into .cache/wgtools, and wireguard-go built from the module
# go.mod pins: what the VPN tests run as this machine's WireGuard, in network
# namespaces. Done once per pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${WGTOOLS_DIR:-.cache/wgtools}
ver=$(go list -m -f '{{.Version}}' golang.zx2c4.com/wireguard)
stamp="$dir/.built-$ver"
[ -f "$stamp" ] && exit 0
rm -rf "$dir" && mkdir -p "$dir/bin"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
download() { (cd "$tmp" && apt-get download -q wireguard-tools >/dev/null 2>&1); }
if ! download; then
	apt-get update -q >/dev/null && download || {
		echo "hack/wgtools.sh: cannot download Debian's wireguard-tools package (apt-get download wireguard-tools); the VPN tests need wg and wg-quick" >&2
		exit 1
	}
fi
dpkg-deb -x "$tmp"/wireguard-tools_*.deb "$dir/root"
go build -trimpath -o "$dir/bin/wireguard-go" golang.zx2c4.com/wireguard
ln -sf ../root/usr/bin/wg "$dir/bin/wg"
ln -sf ../root/usr/bin/wg-quick "$dir/bin/wg-quick"
"$dir/bin/wg" --version >/dev/null
touch "$stamp"
echo "wireguard-tools and wireguard-go $ver in $dir/bin"
