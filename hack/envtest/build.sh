#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that the integration tests run
# (through controller-runtime's envtest) from source, through the Go module
# proxy: no download site is needed, only Go (no C compiler: CGO is off).
#
#   hack/envtest/build.sh          # build if needed; last stdout line: the directory
#   hack/envtest/build.sh --check  # print the directory and exit 0 if built, else exit 1
#
# The binaries go to <repo>/.cache/envtest/<stamp>/, where <stamp> is a short
# hash of the tools modules hack/envtest/{kube-apiserver,etcd} (their go.mod,
# go.sum and main.go). They are rebuilt only when that content changes, that
# is when a pinned version changes; otherwise the script only prints the
# directory. Progress goes to stderr.
#
# Measured on a 2-core machine with an empty Go build cache: kube-apiserver
# 12.6 CPU-minutes, etcd 1.4 CPU-minutes, so about 7 minutes of wall time when
# the machine is otherwise idle (it took 18-35 minutes while other builds
# shared the cores), plus about 30 s of module downloads on an empty module
# cache. With a warm build cache it only links: about 15-60 s. Callers at once
# are serialised with flock where it exists, and a build is published by
# renaming a finished directory, so nobody sees half of one.
set -euo pipefail

main() {
	local here root stamp cache out tmp start m old
	here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
	root="$(cd "$here/../.." && pwd)"
	local modules=(kube-apiserver etcd)

	case "${1:-}" in
	"" | --check) ;;
	*)
		echo "usage: hack/envtest/build.sh [--check]" >&2
		return 2
		;;
	esac

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

	if built "$out"; then
		echo "$out"
		return 0
	fi
	if [[ "${1:-}" == "--check" ]]; then
		echo "envtest: kube-apiserver and etcd are not built yet; run hack/envtest/build.sh" >&2
		return 1
	fi

	mkdir -p "$cache"
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$cache/.lock"
		flock 9
		# Another caller may have finished the build while this one waited.
		if built "$out"; then
			echo "$out"
			return 0
		fi
	fi

	tmp="$(mktemp -d "$cache/.build-XXXXXX")"
	chmod 755 "$tmp"
	trap 'rm -rf "'"$tmp"'"' EXIT

	start=$SECONDS
	for m in "${modules[@]}"; do
		echo "envtest: building $m (hack/envtest/$m) for $out ..." >&2
		(
			cd "$here/$m"
			# CGO off: static binaries, and no C compiler needed on a fresh machine.
			# GOWORK off: each tools module is built on its own.
			CGO_ENABLED=0 GOWORK=off go build -trimpath -ldflags='-s -w' -o "$tmp/$m" .
		)
	done
	touch "$tmp/.complete"

	rm -rf "$out"
	mv -T "$tmp" "$out"
	trap - EXIT

	# Binaries of other pins are of no further use (each set is ~130 MB).
	for old in "$cache"/*; do
		if [[ -d "$old" && "$old" != "$out" ]]; then
			rm -rf "$old"
		fi
	done

	echo "envtest: built kube-apiserver and etcd in $((SECONDS - start))s" >&2
	echo "$out"
}

built() {
	[[ -f "$1/.complete" && -x "$1/kube-apiserver" && -x "$1/etcd" ]]
}

# Everything runs from main, called on the last line: bash has then read the
# whole file, so editing this script while it runs cannot change what runs.
main "$@"
exit $?
