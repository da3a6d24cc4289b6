#!/usr/bin/env bash
# cloud-init from Debian's package, with the Python modules its schema check
# imports, unpacked (not installed) into .cache/cloudinit: the tests run
# `cloud-init schema` on the user data k0rdentctl gives each VM. It runs with
# Debian's /usr/bin/python3 (the unpacked modules are built for it). Done
# once per package version.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${CLOUDINIT_DIR:-.cache/cloudinit}
pkgs="cloud-init python3-yaml python3-jsonschema python3-jinja2 python3-configobj python3-jsonpatch python3-json-pointer python3-attr python3-pyrsistent python3-markupsafe python3-netifaces python3-oauthlib python3-requests python3-serial python3-six python3-urllib3 python3-certifi python3-chardet python3-idna python3-charset-normalizer"
if [ ! -x /usr/bin/python3 ]; then
	echo "hack/cloudinit.sh: the cloud-init schema check runs with Debian's /usr/bin/python3; install it (apt-get install python3)" >&2
	exit 1
fi
ver=$(apt-cache policy cloud-init 2>/dev/null | awk '/Candidate:/ {print $2}')
stamp="$dir/.built-${ver:-unknown}"
[ -n "$ver" ] && [ -f "$stamp" ] && exit 0
rm -rf "$dir" && mkdir -p "$dir/bin"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
download() { (cd "$tmp" && apt-get download -q $pkgs >/dev/null 2>&1); }
if ! download; then
	apt-get update -q >/dev/null && download || {
		echo "hack/cloudinit.sh: cannot download Debian's cloud-init package and its Python modules (apt-get download cloud-init ...)" >&2
		exit 1
	}
fi
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
cat > "$dir/bin/cloud-init-schema" <<'SH'
#!/bin/sh
# cloud-init schema -c FILE, from the unpacked package (hack/cloudinit.sh).
root=$(cd "$(dirname "$0")/../root" && pwd)
PYTHONPATH="$root/usr/lib/python3/dist-packages" PYTHONNOUSERSITE=1 exec /usr/bin/python3 -s "$root/usr/bin/cloud-init" schema "$@"
SH
chmod +x "$dir/bin/cloud-init-schema"
"$dir/bin/cloud-init-schema" --help >/dev/null
ver=$(apt-cache policy cloud-init 2>/dev/null | awk '/Candidate:/ {print $2}')
touch "$dir/.built-${ver:-unknown}"
echo "cloud-init ${ver:-unknown} (schema check) in $dir/bin"
