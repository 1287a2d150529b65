#!/bin/sh
# Lays out the root filesystem of tfserve's FROM-scratch serving image.
#
#   deploy/docker/prepare.sh DIR             build a static tfserve into DIR/rootfs and
#                                     add the files below (DIR is the build
#                                     context of deploy/docker/Dockerfile.prebuilt)
#   deploy/docker/prepare.sh --no-build DIR  DIR/rootfs/tfserve exists already
#                                     (Dockerfile.serving's build stage)
#
# Environment: TFSERVE_BIN (use this binary instead of building one; it must be
# static), VERSION (-X main.version, default: git describe or "dev"), GO (go),
# CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt).
#
# Besides /tfserve, DIR/rootfs holds /etc/ssl/certs/ca-certificates.crt,
# /etc/passwd and /etc/group naming the non-root user 65532 (nonroot), an
# empty /models and /tmp (1777). DIR/owned holds what the Dockerfiles copy
# with --chown=65532:65532: /cache, where remote model versions are copied
# ($XDG_CACHE_HOME/tfserve/models).
set -eu

build=1
if [ "${1:-}" = "--no-build" ]; then
	build=0
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [--no-build] DIR" >&2
	exit 2
fi
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
if [ ! -s "$ca" ]; then
	echo "$0: no CA bundle at $ca (install ca-certificates or set CA_BUNDLE)" >&2
	exit 1
fi

rootfs=$1/rootfs
owned=$1/owned
if [ "$build" = 0 ]; then
	if [ ! -x "$rootfs/tfserve" ]; then
		echo "$0: $rootfs/tfserve is missing" >&2
		exit 1
	fi
else
	rm -rf "$rootfs"
	mkdir -p "$rootfs"
	if [ -n "${TFSERVE_BIN:-}" ]; then
		cp "$TFSERVE_BIN" "$rootfs/tfserve"
	else
		version=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}
		CGO_ENABLED=0 "${GO:-go}" build -trimpath -ldflags="-s -w -X main.version=$version" \
			-o "$rootfs/tfserve" ./cmd/tfserve
	fi
	chmod 0755 "$rootfs/tfserve"
fi

rm -rf "$owned"
mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/models" "$owned/cache"
cp "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"
mkdir -p "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
chmod 0755 "$rootfs/models" "$owned/cache"
