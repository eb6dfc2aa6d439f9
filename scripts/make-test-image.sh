#!/usr/bin/env bash
# Builds the workload image the runtime tests use, akash-test/busybox:latest, without a registry:
# a root filesystem around Debian's static busybox, loaded with `docker import`.
#
# Usage: scripts/make-test-image.sh   (needs a running engine: scripts/docker.sh ensure)
# Skips the import when an image with the same content hash (label akash.test-image.sha256) exists.
set -euo pipefail

IMAGE="${AKASH_TEST_IMAGE:-akash-test/busybox:latest}"
HASH_LABEL=akash.test-image.sha256
BUSYBOX=/bin/busybox
# The applets workloads and tests call; each becomes a symlink to /bin/busybox.
APPLETS="sh ash httpd nc wget echo cat sleep ls mkdir env printf test [ true false seq
  grep sed head tail wc id hostname ps kill date rm cp mv touch ip ifconfig nslookup ping uname"
INDEX_HTML='<html><body>akash test workload</body></html>'

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

docker info >/dev/null 2>&1 || die "the docker engine does not answer; run scripts/docker.sh ensure first"

# Debian's busybox package is dynamically linked; only busybox-static runs in an empty rootfs.
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  log "installing Debian's busybox-static"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >&2 || {
    as_root apt-get update >&2 && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >&2
  } || die "apt-get install -y busybox-static failed"
fi
[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing after installing busybox-static"
file_type=$(file -b "$BUSYBOX" 2>/dev/null || true)
case "$file_type" in
  *dynamically*) die "$BUSYBOX is dynamically linked ($file_type); the image needs busybox-static" ;;
esac

# The hash covers everything that ends up in the image, so a change of any of them rebuilds it.
content_hash=$({
  sha256sum "$BUSYBOX" | cut -d' ' -f1
  printf '%s\n' "$APPLETS" "$INDEX_HTML"
} | sha256sum | cut -d' ' -f1)

existing_hash=$(docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$existing_hash" = "$content_hash" ]; then
  log "$IMAGE is up to date (content sha256 $content_hash)"
else
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs"/{bin,www,tmp,etc,proc,sys,dev}
  chmod 1777 "$rootfs/tmp"
  cp "$BUSYBOX" "$rootfs/bin/busybox"
  for applet in $APPLETS; do
    ln -s busybox "$rootfs/bin/$applet"
  done
  printf '%s\n' "$INDEX_HTML" >"$rootfs/www/index.html"
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

  log "importing $IMAGE (content sha256 $content_hash)"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf - . |
    docker import \
      --change 'CMD ["/bin/sh"]' \
      --change 'ENV PATH=/bin' \
      --change "LABEL $HASH_LABEL=$content_hash" \
      - "$IMAGE" >/dev/null || die "docker import of $IMAGE failed"
fi

output=$(docker run --rm --network none "$IMAGE" sh -c 'echo ok') ||
  die "$IMAGE does not run: docker run failed"
[ "$output" = ok ] || die "$IMAGE printed '$output' instead of 'ok'"
log "$IMAGE runs (echo ok)"
