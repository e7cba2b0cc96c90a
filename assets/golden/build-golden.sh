#!/usr/bin/env bash
# build-golden.sh: build the Shellbox guest every box runs, from Debian packages.
#
#   build-golden.sh [--guest debian|minimal] --authorized-key FILE --out DIR [--disk-size SIZE] [--cache DIR] [--kernel-package NAME]
#   build-golden.sh [--guest debian|minimal] --authorized-key FILE --print-hash [--disk-size SIZE] [--kernel-package NAME]
#
# debian (the default): a Debian 12 system (systemd, OpenSSH, apt, sudo, a login user), build-golden-debian.sh.
# minimal: busybox and dropbear on a small disk, build-golden-minimal.sh; fast to build and boot, for tests.
# --cache keeps the Debian guest's downloaded packages; --kernel-package picks the minimal guest's kernel.
# Both write base.qcow2, vmlinuz, initrd.img and manifest.json into DIR and print the content hash on
# stdout; a failure is one `build-golden: ...` line on stderr and exit 1 (exit 2 for bad arguments).
# This script checks the arguments once, then runs the guest's script in this shell with them set.
# See README.md beside this file.
set -Eeuo pipefail
export LC_ALL=C PATH="$PATH:/usr/sbin:/sbin"   # mkfs.ext4/debugfs live in sbin, absent from a user PATH

exec 3>&2 4>&1                  # the caller's stderr/stdout: tool output goes to a log, not there
fail() { echo "build-golden: $*" >&3; exit 1; }
usage() { [ $# -eq 0 ] || echo "build-golden: $*" >&3; sed -n '4,5s/^# *//p' "$DISPATCHER" >&3; exit 2; }

DISPATCHER=$(readlink -f "${BASH_SOURCE[0]}")
GUEST=debian KEY= OUT= PRINT_HASH=0 DISK_SIZE= CACHE= KERNEL_PKGS=
while [ $# -gt 0 ]; do
  case $1 in
    --guest|--authorized-key|--out|--disk-size|--cache|--kernel-package)
      [ $# -ge 2 ] && [ -n "$2" ] || usage "$1 needs a value"
      case $1 in
        --guest)          GUEST=$2 ;;
        --authorized-key) KEY=$2 ;;
        --out)            OUT=$2 ;;
        --disk-size)      DISK_SIZE=$2 ;;
        --cache)          CACHE=$2 ;;
        --kernel-package) KERNEL_PKGS=$2 ;;
      esac
      shift 2 ;;
    --print-hash) PRINT_HASH=1; shift ;;
    *) usage "unknown argument '$1'" ;;
  esac
done
case $GUEST in
  debian|minimal) ;;
  *) usage "unknown guest '$GUEST' (use debian or minimal)" ;;
esac
[ -n "$KEY" ] || usage "--authorized-key is required"
[ "$PRINT_HASH" = 1 ] || [ -n "$OUT" ] || usage "--out or --print-hash is required"
[ -z "$KERNEL_PKGS" ] || [ "$GUEST" = minimal ] || usage "--kernel-package is for the minimal guest"
[ -z "$DISK_SIZE" ] || [[ $DISK_SIZE =~ ^[0-9]+[MG]$ ]] || fail "disk size '$DISK_SIZE' is not a number followed by M or G"
[ -r "$KEY" ] || fail "cannot read authorized key $KEY"
grep -qE '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp[0-9]+) [A-Za-z0-9+/=]+' "$KEY" \
  || fail "$KEY is not an OpenSSH public key"
[ "$(dpkg --print-architecture)" = amd64 ] || fail "host package architecture must be amd64 (the guest is x86_64)"

# shellcheck source=/dev/null
source "$(dirname "$DISPATCHER")/build-golden-$GUEST.sh"
