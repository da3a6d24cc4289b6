#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that the integration tests run
# (through controller-runtime's envtest) from source, through the Go module
# proxy: no download site is needed, only Go.
#
#   hack/envtest/build.sh          # build if needed; last stdout line: the directory
#   hack/envtest/build.sh --check  # exit 0 and print the directory if built, else exit 1
#
# The binaries go to <repo>/.cache/envtest/<stamp>/, where <stamp> is a short
# hash of the tools modules (hack/envtest/*/go.mod, go.sum and main.go). They are
# rebuilt only when that content changes, i.e. when a pinned version changes;
# otherwise the script only prints the directory. Progress goes to stderr.
#
# Cold (empty Go build cache, 2 cores) the build takes several minutes; see
# README/issue notes. Several callers at once are serialised with flock where
# it exists, and a build is only published by an atomic rename, so a reader
# never sees half a directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
modules=(kube-apiserver etcd)

stamp="$(
	cd "$here"
	for m in "${modules[@]}"; do
		for f in go.mod go.sum main.go; do
			printf '%s/%s\n' "$m" "$f"
			cat "$m/$f"
		done
	done | sha256sum | cut -c1-12
)"
cache="$root/.cache/envtest"
out="$cache/$stamp"

complete() {
	[[ -f "$out/.complete" && -x "$out/kube-apiserver" && -x "$out/etcd" ]]
}

if complete; then
	echo "$out"
	exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
	echo "envtest: binaries not built yet; run hack/envtest/build.sh" >&2
	exit 1
fi

mkdir -p "$cache"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/.lock"
	flock 9
	# Another caller may have finished the build while this one waited.
	if complete; then
		echo "$out"
		exit 0
	fi
fi

tmp="$(mktemp -d "$cache/.build-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

start=$SECONDS
for m in "${modules[@]}"; do
	echo "envtest: building $m (hack/envtest/$m) into $out ..." >&2
	(
		cd "$here/$m"
		# CGO off: static binaries, and no C compiler needed on a fresh machine.
		# GOWORK off: the tools modules are built alone, never with a workspace.
		CGO_ENABLED=0 GOWORK=off go build -trimpath -ldflags='-s -w' -o "$tmp/$m" .
	)
done
touch "$tmp/.complete"

rm -rf "$out"
mv -T "$tmp" "$out"
trap - EXIT

# Binaries of other pins are of no further use; each set is ~150 MB.
for old in "$cache"/*; do
	if [[ -d "$old" && "$old" != "$out" ]]; then
		rm -rf "$old"
	fi
done

echo "envtest: built kube-apiserver and etcd in $((SECONDS - start))s" >&2
echo "$out"
