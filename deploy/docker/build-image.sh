#!/bin/sh
# Builds the tfserve serving image without pulling anything: a static binary
# built on this machine (deploy/docker/prepare.sh) on FROM scratch
# (deploy/docker/Dockerfile.prebuilt). `make image` runs it.
#
#   deploy/docker/build-image.sh [IMAGE]      default IMAGE: tfserve:latest
#
# Environment: BUILDER (auto, docker, podman or buildah; auto takes docker if
# its daemon answers, else podman, else buildah), CONTEXT (default bin/image),
# BUILDAH_FLAGS (global buildah flags, default "--storage-driver vfs", which
# works inside containers), plus prepare.sh's TFSERVE_BIN, VERSION, GO.
set -eu

image=${1:-tfserve:latest}
context=${CONTEXT:-bin/image}
dockerfile=deploy/docker/Dockerfile.prebuilt
builder=${BUILDER:-auto}

if [ "$builder" = auto ]; then
	if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
		builder=docker
	elif command -v podman >/dev/null 2>&1; then
		builder=podman
	elif command -v buildah >/dev/null 2>&1; then
		builder=buildah
	else
		echo "$0: no image builder: install docker, podman or buildah (apt-get install buildah)" >&2
		exit 1
	fi
fi

deploy/docker/prepare.sh "$context"
case $builder in
docker | podman)
	"$builder" build -f "$dockerfile" -t "$image" "$context"
	;;
buildah)
	# shellcheck disable=SC2086 # BUILDAH_FLAGS is a list of flags
	buildah ${BUILDAH_FLAGS:---storage-driver vfs} bud --isolation chroot -f "$dockerfile" -t "$image" "$context"
	;;
*)
	echo "$0: BUILDER=$builder: want auto, docker, podman or buildah" >&2
	exit 2
	;;
esac
echo "built $image with $builder"
