#!/usr/bin/env bash
# Build a local stand-in for Docker Hub's `python:3.11-slim-bookworm` with debootstrap.
#
# Why: a machine that reaches Debian's package mirrors but no image registry cannot pull the
# Dockerfile's base image. Debian bookworm's own python3 is 3.11, so a minimal bookworm root
# filesystem with python3, venv and pip is a faithful substitute, and the Dockerfile keeps its
# standard `FROM python:3.11-slim-bookworm`. Like the official image it answers to `python` and
# `pip` (in /usr/local/bin, first on PATH) and lets pip install into the system interpreter.
# The machine's CA certificates are added, so pip works behind a TLS-intercepting proxy.
#
# Idempotent: does nothing when the tag already exists (the image is the cache; remove it with
# `docker image rm python:3.11-slim-bookworm` to rebuild). Needs root, debootstrap and a running
# Docker daemon.
#
# Usage: scripts/docker_base_image.sh [TAG]
#   DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR
#   (default http://deb.debian.org/debian-security), CA_DIR (default /usr/local/share/ca-certificates)
set -euo pipefail

TAG="${1:-python:3.11-slim-bookworm}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
CA_DIR="${CA_DIR:-/usr/local/share/ca-certificates}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG already exists: nothing to do"
  exit 0
fi
for tool in debootstrap docker chroot; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then
  echo "error: debootstrap needs root" >&2
  exit 1
fi

started=$(date +%s)
ROOTFS="$(mktemp -d /var/tmp/python-slim-rootfs.XXXXXX)"
cleanup() {
  # A failed chroot step can leave these mounted; never delete through a live mount.
  for mount in proc dev/pts dev sys; do
    mountpoint -q "$ROOTFS/$mount" && umount -l "$ROOTFS/$mount"
  done
  rm -rf --one-file-system "$ROOTFS"
}
trap cleanup EXIT

echo "== debootstrap $SUITE into $ROOTFS"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
  "$SUITE" "$ROOTFS" "$MIRROR"

# The official image follows bookworm's point and security updates; so does this one.
cat > "$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF

# The machine's extra CAs (e.g. a TLS-intercepting proxy's) join Debian's bundle, which pip uses.
if [ -d "$CA_DIR" ]; then
  mkdir -p "$ROOTFS/usr/local/share/ca-certificates"
  find "$CA_DIR" -maxdepth 1 -name '*.crt' -exec cp {} "$ROOTFS/usr/local/share/ca-certificates/" \;
fi
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"

echo "== updates, CA certificates, python/pip entry points"
chroot "$ROOTFS" /bin/sh -eu <<'EOF'
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
apt-get update -qq
apt-get upgrade -y -qq --no-install-recommends
update-ca-certificates
# pip writes into the system interpreter in the official image (no PEP 668 marker there).
rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
# `python` and `pip` as in the official image, first on its PATH.
ln -sf /usr/bin/python3 /usr/local/bin/python
ln -sf /usr/bin/python3-config /usr/local/bin/python-config 2>/dev/null || true
printf '#!/bin/sh\nexec /usr/bin/python3 -m pip "$@"\n' > /usr/local/bin/pip
chmod 755 /usr/local/bin/pip
ln -sf pip /usr/local/bin/pip3
# Make pip use the system bundle (with the CAs above) even where it would use its vendored one.
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > /etc/pip.conf
python --version
pip --version
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/* /usr/share/doc/* /usr/share/man/* \
  /usr/share/info/* /usr/share/locale/*
find / -xdev -name __pycache__ -type d -prune -exec rm -rf {} +
EOF
: > "$ROOTFS/etc/resolv.conf"  # Docker provides the container's own at run time

PYTHON_VERSION="$(chroot "$ROOTFS" /usr/bin/python3 -c 'import platform; print(platform.python_version())')"
echo "== importing $TAG (Python $PYTHON_VERSION)"
tar --numeric-owner --xattrs -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "ENV PYTHON_VERSION=$PYTHON_VERSION" \
  --change 'CMD ["python3"]' \
  --change 'LABEL org.opencontainers.image.description="Local debootstrap stand-in for python:3.11-slim-bookworm (scripts/docker_base_image.sh)"' \
  - "$TAG"
docker run --rm --network none "$TAG" python -c 'import ssl, venv, ensurepip; print("base image ok")'
echo "== built $TAG in $(( $(date +%s) - started ))s ($(docker image inspect -f '{{.Size}}' "$TAG") bytes)"
