#!/usr/bin/env bash
# build-golden-minimal.sh: the minimal Shellbox guest (kernel, initrd, ext4 root disk) from distro packages.
#
#   build-golden.sh --guest minimal --authorized-key FILE --out DIR [--disk-size SIZE] [--kernel-package NAME]
#   build-golden.sh --guest minimal --authorized-key FILE --print-hash [--disk-size SIZE] [--kernel-package NAME]
#
# Packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x`: nothing is installed
# on the host, nothing is mounted, root is not needed. DIR receives base.qcow2 (1 GiB sparse ext4 by default),
# vmlinuz, initrd.img and manifest.json. See README.md beside this file for the QEMU command lines.
# Run by build-golden.sh, which has checked the arguments and set KEY, OUT, PRINT_HASH, DISK_SIZE and
# KERNEL_PKGS (empty: the defaults); SELF is this file and DISPATCHER build-golden.sh, both part of the hash.
(return 0 2>/dev/null) || { echo "build-golden: run build-golden.sh --guest minimal (it checks the arguments)" >&2; exit 2; }
SELF=$(readlink -f "${BASH_SOURCE[0]}")
DISK_SIZE=${DISK_SIZE:-1G} KERNEL_PKGS=${KERNEL_PKGS:-"linux-image-cloud-amd64 linux-image-kvm linux-image-virtual"}

# --- Resolve the exact package set with apt-cache only (so --print-hash downloads nothing) ---------
show() { apt-cache show --no-all-versions "$1" 2>/dev/null; }
version() { show "$1" | sed -n 's/^Version: //p' | head -n1; }
depends() { show "$1" | sed -n 's/^\(Pre-\)\{0,1\}Depends: //p' | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/:any//; s/ //g'; }

KMETA=
for p in $KERNEL_PKGS; do [ -n "$(version "$p")" ] && { KMETA=$p; break; }; done
[ -n "$KMETA" ] || fail "none of [$KERNEL_PKGS] is known to apt-cache (run apt-get update?)"
# The metapackage points at the versioned image; Ubuntu ships the modules in a separate package.
KIMAGE=$(depends "$KMETA" | grep -m1 '^linux-image-[0-9]') || fail "$KMETA depends on no linux-image-<version>"
KMODS=$(depends "$KIMAGE" | grep -m1 '^linux-modules-[0-9]' || true)
PKGS="$KIMAGE $KMODS busybox-static dropbear-bin $(depends dropbear-bin)"   # dropbear's libs: libc & co

VERSIONS=$(apt-cache show --no-all-versions $PKGS 2>/dev/null | awk '/^Package: /{p=$2} /^Version: /{print p "=" $2}' | sort -u) || true
for p in $PKGS; do echo "$VERSIONS" | grep -q "^$p=" || fail "no candidate version for $p"; done
# Same packages + same script + same key => same golden: the caller can skip the build.
HASH=$({ echo "$VERSIONS"; echo "disk=$DISK_SIZE"; cat "$SELF" "$DISPATCHER" "$KEY"; } | sha256sum | cut -d' ' -f1)
if [ "$PRINT_HASH" = 1 ]; then echo "$HASH"; exit 0; fi

# --- Work dir, cleaned on any exit; tool chatter goes to a log, quoted in the one-line error ------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/build-golden.XXXXXX")
LOG=$WORK/log
trap 'rm -rf "$WORK"' EXIT
# Subshells inherit the trap (-E): only the main shell speaks, so the error stays one line.
trap '[ "$BASHPID" != $$ ] || fail "line $LINENO: $BASH_COMMAND failed: $(tail -n1 "$LOG" 2>/dev/null)"' ERR
exec >>"$LOG" 2>&1
for t in apt-get dpkg-deb mkfs.ext4 debugfs qemu-img cpio gzip sha256sum; do
  command -v "$t" >/dev/null || fail "missing tool: $t"
done

mkdir -p "$WORK/debs" "$WORK/pkg" "$WORK/root" "$WORK/initrd" "$WORK/out"
(cd "$WORK/debs" && apt-get download -q $VERSIONS)   # name=version: exactly what was hashed
for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$WORK/pkg"; done
P=$WORK/pkg

# --- Kernel and the modules it needs before the root disk is readable -----------------------------
VMLINUZ=$(ls "$P"/boot/vmlinuz-* | head -n1)
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$(find "$P" -type d -path "*/modules/$KVER" | head -n1)
[ -n "$MODDIR" ] || fail "no modules directory for kernel $KVER"
# name -> file index (file names may use '-' where module names use '_'), and the built-in list.
find "$MODDIR" -name '*.ko*' | awk -F/ '{n=$NF; sub(/\.ko.*/,"",n); gsub(/-/,"_",n); print n, $0}' >"$WORK/modidx"
sed 's|.*/||; s|\.ko.*||; s|-|_|g' "$MODDIR/modules.builtin" >"$WORK/builtin"
mkdir -p "$WORK/initrd/lib/modules"
LOADED=" "
want() {   # copy module $1 and its dependencies (deps first) into the initrd load order
  local m=$1 f d ko=$WORK/initrd/lib/modules/$1.ko
  case $LOADED in *" $m "*) return 0 ;; esac
  grep -qx "$m" "$WORK/builtin" && return 0
  f=$(awk -v m="$m" '$1 == m {print $2; exit}' "$WORK/modidx")
  [ -n "$f" ] || fail "kernel module $m is neither built in nor shipped by $KIMAGE"
  case $f in   # busybox insmod wants plain .ko: Ubuntu compresses its modules
    *.zst) zstd -dcq "$f" >"$ko" ;; *.xz) xz -dc "$f" >"$ko" ;; *.gz) gzip -dc "$f" >"$ko" ;; *) cp "$f" "$ko" ;;
  esac
  for d in $(tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | tr ',' ' '); do want "$d"; done
  LOADED="$LOADED$m "; echo "$m" >>"$WORK/initrd/lib/modules/order"
}
# Hard dependencies only (modinfo depends=): ext4's soft one, crc32c, is listed by hand.
for m in virtio_pci virtio_blk virtio_net crc32c_generic ext4; do want "$m"; done
touch "$WORK/initrd/lib/modules/order"   # all built in: the initrd still works, it just loads nothing

BUSYBOX=$(find "$P" -type f -path '*bin/busybox' | head -n1)
[ -n "$BUSYBOX" ] && "$BUSYBOX" --list-full >"$WORK/applets" || fail "busybox-static has no working busybox binary"

# --- initrd: load modules, mount the root disk, switch to it ---------------------------------------
mkdir -p "$WORK/initrd/bin" "$WORK/initrd/dev" "$WORK/initrd/proc" "$WORK/initrd/newroot"
cp "$BUSYBOX" "$WORK/initrd/bin/busybox"
cat >"$WORK/initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko" || echo "initrd: insmod $m failed"; done
root=/dev/vda
for a in $(cat /proc/cmdline); do case $a in root=*) root=${a#root=} ;; esac; done
i=0; while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
# No rescue shell: nobody reads the console interactively; power off so QEMU exits and the caller sees it.
mount -t ext4 -o rw "$root" /newroot || { echo "initrd: cannot mount $root"; poweroff -f; }
umount /proc
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod 755 "$WORK/initrd/init"

# --- Root filesystem ------------------------------------------------------------------------------
R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,etc/dropbear,dev,proc,sys,run,tmp,var/log,root/.ssh,home/dev/.ssh}
mkdir -p "$R/lib/x86_64-linux-gnu" "$R/lib64"
ln -s ../run "$R/var/run"
cp "$BUSYBOX" "$R/bin/busybox"
for a in $(cat "$WORK/applets"); do [ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"; done
cp "$P/usr/sbin/dropbear" "$R/usr/sbin/"
cp "$P/usr/bin/dropbearkey" "$R/usr/bin/"
# dropbear's shared libraries, resolved by the packaged loader against the packaged libs (not the host's).
# -type f: Debian's /lib64/ld-linux-x86-64.so.2 is an absolute symlink, i.e. into the host.
LDSO=$(find "$P" -type f -name 'ld-linux-x86-64.so.2' | head -n1)
LIBPATH=$(find "$P" -type f -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
"$LDSO" --library-path "$LIBPATH" --list "$R/usr/sbin/dropbear" >"$WORK/libs"
! grep -q 'not found' "$WORK/libs" || fail "dropbear library not found: $(grep 'not found' "$WORK/libs" | head -n1)"
for l in $(awk '$2 == "=>" {print $3}' "$WORK/libs"); do cp -L "$l" "$R/lib/x86_64-linux-gnu/"; done
cp -L "$LDSO" "$R/lib64/ld-linux-x86-64.so.2"

# dev is the login user a session lands as (as on the Debian guest); the control plane logs in as root.
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
dev:x:1000:1000:dev:/home/dev:/bin/sh
EOF
# '*' = no password: dropbear refuses an empty one even for key auth, and -s disables passwords anyway.
printf 'root:*:19000:0:99999:7:::\ndev:*:19000:0:99999:7:::\n' >"$R/etc/shadow"
printf 'root:x:0:\ntty:x:5:\ndev:x:1000:\n' >"$R/etc/group"
echo /bin/sh >"$R/etc/shells"
echo shellbox >"$R/etc/hostname"
echo 'nameserver 10.0.2.3' >"$R/etc/resolv.conf"   # QEMU user-mode networking's DNS
cp "$KEY" "$R/root/.ssh/authorized_keys"
cp "$KEY" "$R/home/dev/.ssh/authorized_keys"
chmod 700 "$R/root" "$R/root/.ssh" "$R/home/dev" "$R/home/dev/.ssh"
chmod 600 "$R/root/.ssh/authorized_keys" "$R/home/dev/.ssh/authorized_keys" "$R/etc/shadow"

cat >"$R/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
# Key auth only (-s). Respawned by init, so shellbox-rekey restarts it by killing it.
::respawn:/usr/sbin/dropbear -F -E -s -p 22 -r /etc/dropbear/dropbear_ed25519_host_key -P /run/dropbear.pid
::shutdown:/bin/umount -a -r
EOF
cat >"$R/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# Runs once per boot, not per resume.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
grep -q '^devtmpfs /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev   # the initrd moves its /dev here
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
hostname -F /etc/hostname
# QEMU user-mode networking: fixed addresses, no DHCP client needed.
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2
# The image ships no host key: make one on first boot (clones get a fresh one from shellbox-rekey).
K=/etc/dropbear/dropbear_ed25519_host_key
[ -s $K ] || dropbearkey -t ed25519 -f $K >/dev/null 2>&1
dropbearkey -y -f $K | sed -n 's/^\(ssh-ed25519 [^ ]*\).*/shellbox-hostkey: \1/p; s/^Fingerprint: /shellbox-hostkey-fingerprint: /p'
EOF
# Writing to /dev/urandom only mixes into the input pool: since Linux 5.18 the crng is not reseeded
# until its interval expires, so clones resumed from one RAM image would draw identical "random" keys.
# shellbox-reseed forces it: ioctl(open("/dev/urandom"), RNDRESEEDCRNG). Busybox has no ioctl applet and
# the guest has no compiler, so it is this 176-byte static x86-64 ELF (one PT_LOAD at 0x400000, entry 0x400078):
#   mov eax,2; lea rdi,[rip+path]; xor esi,esi; syscall          open(path, O_RDONLY)
#   mov edi,eax; mov eax,16; mov esi,0x5207; xor edx,edx; syscall  ioctl(fd, RNDRESEEDCRNG, 0)
#   mov edi,eax; neg edi; mov eax,60; syscall                      exit(-ret): 0, or errno (EPERM=1 ...)
#   path: "/dev/urandom\0"
ELF='7f454c4602010100000000000000000002003e0001000000780040000000000040000000000000000000000000000000'
ELF+='00000000400038000100000000000000010000000500000000000000000000000000400000000000000040000000'
ELF+='0000b000000000000000b0000000000000000010000000000000'
ELF+='b802000000488d3d1f00000031f60f0589c7b810000000be0752000031d20f0589c7f7dfb83c0000000f05'
ELF+='2f6465762f7572616e646f6d00'
printf '%b' "$(echo "$ELF" | sed 's/../\\x&/g')" >"$R/sbin/shellbox-reseed"
echo "0a9131fa423ff4422bad5e4c93af8244f756d6c75acd4d58f9a2c989936eac92  $R/sbin/shellbox-reseed" | sha256sum -c --quiet
cat >"$R/sbin/shellbox-rekey" <<'EOF'
#!/bin/sh
# shellbox-rekey [SEED [HOSTNAME]]: run once over SSH at a clone's first resume. Clones share the golden's RAM,
# hence its RNG state and host key: mix in SEED (random text from the control plane), force a reseed,
# make a new host key, restart dropbear (open sessions survive), print the new public key.
set -e
[ -z "$1" ] || printf '%s' "$1" >/dev/urandom
/sbin/shellbox-reseed
K=/etc/dropbear/dropbear_ed25519_host_key
rm -f /etc/dropbear/*host_key*
[ -z "$2" ] || /sbin/shellbox-hostname "$2"
dropbearkey -t ed25519 -f $K >/dev/null 2>&1
sync
# init respawns dropbear with the new key (after ~1 s); return once it has, so the caller can rescan.
old=$(cat /run/dropbear.pid 2>/dev/null || true)
[ -z "$old" ] || kill "$old"
i=0; while [ $i -lt 50 ]; do
  new=$(cat /run/dropbear.pid 2>/dev/null || true)
  [ -n "$new" ] && [ "$new" != "$old" ] && break
  sleep 0.1; i=$((i+1))
done
dropbearkey -y -f $K | sed -n 's/^\(ssh-ed25519 [^ ]*\).*/\1/p; s/^Fingerprint: /fingerprint: /p'
EOF
cat >"$R/sbin/shellbox-hostname" <<'EOF'
#!/bin/sh
# shellbox-hostname NAME: the box's name becomes its hostname (now and at a boot).
[ -n "$1" ] || { echo "usage: shellbox-hostname NAME" >&2; exit 2; }
echo "$1" >/etc/hostname
hostname "$1"
EOF
chmod 755 "$R/etc/init.d/rcS" "$R/sbin/shellbox-rekey" "$R/sbin/shellbox-reseed" "$R/sbin/shellbox-hostname"

# --- Disk: sparse ext4 (1 GiB by default) filled from the directory (no mount), then qcow2 --------------------
truncate -s "$DISK_SIZE" "$WORK/root.ext4"
mkfs.ext4 -q -F -L shellbox -d "$R" "$WORK/root.ext4"
# mkfs -d copies the builder's uid/gid: make everything root's (dropbear checks authorized_keys' owner).
(cd "$R" && find . | sed 's|^\.||; s|^$|/|; s|.*|sif "&" uid 0\nsif "&" gid 0|') >"$WORK/chown.debugfs"
(cd "$R" && find ./home/dev | sed 's|^\.||; s|.*|sif "&" uid 1000\nsif "&" gid 1000|') >>"$WORK/chown.debugfs"
debugfs -w -f "$WORK/chown.debugfs" "$WORK/root.ext4" >/dev/null
qemu-img convert -f raw -O qcow2 "$WORK/root.ext4" "$WORK/out/base.qcow2"

# --- initrd and the rest of the output ------------------------------------------------------------
(cd "$WORK/initrd" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -9n) >"$WORK/out/initrd.img"
cp "$VMLINUZ" "$WORK/out/vmlinuz"
json_list() { sed 's/.*/"&"/' | paste -sd, | sed 's/,/, /g'; }
cat >"$WORK/out/manifest.json" <<EOF
{
  "contentHash": "$HASH",
  "kernel": "$KVER",
  "kernelPackage": "$KMETA",
  "guest": "minimal",
  "initrdModules": [$(json_list <"$WORK/initrd/lib/modules/order")],
  "append": "console=ttyS0 root=/dev/vda rw quiet",
  "packages": {
$(echo "$VERSIONS" | awk -F= '{printf "%s    \"%s\": \"%s\"", (NR > 1 ? ",\n" : ""), $1, substr($0, length($1) + 2)} END {print ""}')
  }
}
EOF

mkdir -p "$OUT"
for f in base.qcow2 vmlinuz initrd.img manifest.json; do mv -f "$WORK/out/$f" "$OUT/$f"; done
echo "$HASH" >&4
