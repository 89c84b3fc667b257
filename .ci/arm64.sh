#!/usr/bin/env bash
# Cross-compiles the core packages' tests for linux/arm64 and runs them under
# qemu-user, on each engine. Packages whose tests re-execute themselves
# (bench/, examples/) are left to the native legs: a child process of an
# emulated binary would need binfmt_misc, which containers often lack.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v qemu-aarch64 >/dev/null; then
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pkgs=$(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... | grep -Ev '/(bench|examples)(/|$)')
status=0
for pkg in $pkgs; do
	bin="$out/$(echo "$pkg" | tr / _).test"
	GOARCH=arm64 CGO_ENABLED=0 go test -c -o "$bin" "$pkg"
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for engine in "" portable; do
		if (cd "$dir" && COSTACK_ENGINE=$engine qemu-aarch64 "$bin" -test.count=1 >"$out/log" 2>&1); then
			echo "ok   $pkg (arm64 under qemu, engine ${engine:-default})"
		else
			cat "$out/log"
			echo "FAIL $pkg (arm64 under qemu, engine ${engine:-default})"
			status=1
		fi
	done
done
exit $status
