#!/usr/bin/env bash
# build-golden.sh: build the Shellbox guest every box runs, from Debian packages.
#
#   build-golden.sh [--guest debian|minimal] --authorized-key FILE --out DIR [--disk-size SIZE] [--cache DIR]
#   build-golden.sh [--guest debian|minimal] --authorized-key FILE --print-hash [--disk-size SIZE]
#
# debian (the default): a Debian 12 system (systemd, OpenSSH, apt, sudo, a login user), build-golden-debian.sh.
# minimal: busybox and dropbear on a small disk, build-golden-minimal.sh; fast to build and boot, for tests.
# Both write base.qcow2, vmlinuz, initrd.img and manifest.json into DIR and print the content hash on
# stdout; a failure is one `build-golden: ...` line on stderr and exit 1. See README.md beside this file.
set -Eeuo pipefail
GUEST=debian ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --guest) GUEST=${2:-}; shift 2 || { echo "build-golden: --guest needs a value" >&2; exit 2; } ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
case $GUEST in
  debian|minimal) exec bash "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/build-golden-$GUEST.sh" "${ARGS[@]}" ;;
  *) echo "build-golden: unknown guest '$GUEST' (use debian or minimal)" >&2; exit 2 ;;
esac
