#!/usr/bin/env bash
# Cross-compiles the core packages' tests for linux/arm64 and runs them under
# qemu-user, on each engine (native is the default on linux/arm64). Packages
# whose tests re-execute themselves through go run or go build (bench/,
# examples/) are left to the native legs: a child process of an emulated
# binary would need binfmt_misc, which containers often lack; internal/engine's
# tests re-execute their own binary through qemu-aarch64 (runSelf).
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
# A short GC torture on the native engine (the default on linux/arm64) under
# GOGC=1, with and without the profilers, sized to keep this leg under ~10
# minutes on 2 cores. (The runs above already include the torture under the
# runtime's checkers, gccheckmark, clobberfree and invalidptr with
# gcstoptheworld, for a second each, in child processes, and the negative
# controls; stretched to a soak under GOGC=1, the gcstoptheworld child alone
# takes minutes under qemu.)
ARM64_SOAK=${ARM64_SOAK:-20s}
for pkg in ./internal/engine ./costack; do
	bin="$out/torture.test"
	GOARCH=arm64 CGO_ENABLED=0 go test -c -o "$bin" "$pkg"
	if (cd "$pkg" && GOGC=1 COSTACK_SOAK=$ARM64_SOAK qemu-aarch64 "$bin" -test.count=1 -test.run '^(TestNativeTorture|TestNativeTortureProfiled|TestGCTorture)$' -test.timeout 10m >"$out/log" 2>&1); then
		echo "ok   $pkg torture, GOGC=1, COSTACK_SOAK=$ARM64_SOAK (arm64 under qemu, engine native)"
	else
		cat "$out/log"
		echo "FAIL $pkg torture, GOGC=1 (arm64 under qemu)"
		status=1
	fi
done
exit $status
