#!/usr/bin/env bash
# build-golden-debian.sh: the Debian 12 Shellbox guest (systemd, OpenSSH, apt, sudo, login user `dev`).
#
#   build-golden.sh --guest debian --authorized-key FILE --out DIR [--disk-size SIZE] [--cache DIR]
#   build-golden.sh --guest debian --authorized-key FILE --print-hash [--disk-size SIZE]
#
# mmdebstrap installs the packages into a directory (as root: --mode=root), mkfs.ext4 -d turns it into a
# sparse disk of SIZE (default 8G) without mounting it, and the image's own Debian kernel and initramfs
# boot it. DIR receives base.qcow2, vmlinuz, initrd.img and manifest.json. --cache DIR keeps the
# downloaded .debs between builds. See README.md beside this file.
# Run by build-golden.sh, which has checked the arguments and set KEY, OUT, PRINT_HASH, DISK_SIZE (empty:
# the default) and CACHE; SELF is this file and DISPATCHER build-golden.sh, both part of the hash.
(return 0 2>/dev/null) || { echo "build-golden: run build-golden.sh --guest debian (it checks the arguments)" >&2; exit 2; }
SELF=$(readlink -f "${BASH_SOURCE[0]}")
DISK_SIZE=${DISK_SIZE:-8G}

SUITE=bookworm
MIRRORS=(
  "deb http://deb.debian.org/debian $SUITE main"
  "deb http://deb.debian.org/debian $SUITE-updates main"
  "deb http://deb.debian.org/debian-security $SUITE-security main"
)
# What a developer expects on a box; Recommends are left out (the guest's apt installs them as usual later).
# qemu-guest-agent: the host sets a resumed box's clock and hostname through it, without an SSH login.
# ncurses-term, kitty-terminfo, foot-terminfo: the terminfo of the terminals developers use (alacritty, kitty, foot, ...),
# whose TERM ssh passes on: without it vim, less and htop in the box say "unknown terminal type".
PACKAGES="systemd-sysv udev linux-image-cloud-amd64 openssh-server sudo ca-certificates curl git less vim-tiny
  procps iproute2 iputils-ping locales bash-completion dbus qemu-guest-agent ncurses-term kitty-terminfo foot-terminfo"
USER_NAME=dev

# --- The hash: exact versions of the whole package closure, from the host's apt-cache (downloads nothing).
# The host's apt sources must be the same Debian release (bookworm): mmdebstrap installs what they resolve.
resolve() {
  ESSENTIAL=$(apt-cache dumpavail 2>/dev/null | awk '/^Package: /{p=$2} /^Essential: yes/{print p}' | sort -u)
  CLOSURE=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances $ESSENTIAL apt $PACKAGES 2>/dev/null | grep -v '^ ' | grep -v '^<' | sort -u)
  VERSIONS=$(apt-cache show --no-all-versions $CLOSURE 2>/dev/null | awk '/^Package: /{p=$2} /^Version: /{print p "=" $2}' | sort -u) || true
  [ -n "$ESSENTIAL" ] && for p in apt $PACKAGES; do echo "$VERSIONS" | grep -q "^$p=" || return 1; done
}
# Once more on a miss: seen once on a busy machine while the lists were readable a second later.
resolve || { sleep 2; resolve; } || fail "apt-cache resolves no candidate for one of: apt $(echo $PACKAGES) (run apt-get update?)"
HASH=$({ echo "$VERSIONS"; echo "disk=$DISK_SIZE"; printf '%s\n' "${MIRRORS[@]}"; cat "$SELF" "$DISPATCHER" "$KEY"; } | sha256sum | cut -d' ' -f1)
if [ "$PRINT_HASH" = 1 ]; then echo "$HASH"; exit 0; fi

[ "$(id -u)" = 0 ] || fail "the Debian guest is built as root (mmdebstrap --mode=root; the image keeps its owners)"
for t in mmdebstrap mkfs.ext4 qemu-img sha256sum; do
  command -v "$t" >/dev/null || fail "missing tool: $t (apt-get install mmdebstrap e2fsprogs qemu-utils)"
done

# --- Work dir, cleaned on any exit; tool chatter goes to a log, quoted in the one-line error ------
# The build writes about 1.5 GB (an installed system, its ext4 image, the qcow2): in RAM when /dev/shm has
# room and TMPDIR does not say otherwise, it takes 1.5 min instead of 4 on a busy disk.
BASE=${TMPDIR:-/tmp}
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -gt 4000000 ]; then BASE=/dev/shm; fi
WORK=$(mktemp -d "$BASE/build-golden.XXXXXX")
LOG=$WORK/log
trap 'rm -rf "$WORK"' EXIT
trap '[ "$BASHPID" != $$ ] || fail "line $LINENO: $BASH_COMMAND failed: $(tail -n1 "$LOG" 2>/dev/null)"' ERR
exec >>"$LOG" 2>&1
R=$WORK/root
mkdir -p "$R" "$WORK/out"
[ -z "$CACHE" ] || mkdir -p "$CACHE"

# --- Files the image gets, written before mmdebstrap runs and copied in by its hooks --------------
F=$WORK/files
mkdir -p "$F"
# The initramfs needs only the virtio disk and ext4 (the image has no hardware to detect at build time).
cat >"$F/initramfs.conf" <<'EOF'
# Shellbox: the box boots from a virtio disk; keep the initramfs small (MODULES=most takes all drivers).
MODULES=list
EOF
printf '%s\n' virtio_pci virtio_blk virtio_net ext4 >"$F/initramfs.modules"

cat >"$F/shellbox-boot" <<'EOF'
#!/bin/sh
# shellbox-boot: once per boot, before sshd. QEMU user-mode networking has fixed addresses, so no DHCP.
# eth0: net.ifnames=0 keeps the kernel's name; the initramfs loaded virtio_net, still wait for it a little.
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 2>/dev/null || true
ip link set eth0 up
ip route replace default via 10.0.2.2
# The image ships no host key: make one at the first boot (a clone gets its own from shellbox-rekey).
K=/etc/ssh/ssh_host_ed25519_key
[ -s $K ] || ssh-keygen -q -t ed25519 -N '' -f $K
# The control plane reads the key from the console (a channel only it reads) and checks SSH presents it.
{ echo "shellbox-hostkey: $(cut -d' ' -f1-2 $K.pub)"
  echo "shellbox-hostkey-fingerprint: $(ssh-keygen -l -f $K.pub | cut -d' ' -f2)"; } >/dev/console
EOF
cat >"$F/shellbox-boot.service" <<'EOF'
[Unit]
Description=Shellbox box network and SSH host key
DefaultDependencies=no
After=local-fs.target systemd-sysctl.service
Before=network.target ssh.service
Wants=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/shellbox-boot

[Install]
WantedBy=multi-user.target
EOF
cat >"$F/shellbox-ready" <<'EOF'
#!/bin/sh
# shellbox-ready: the golden is suspended once the system has settled. Drop the page cache first
# (init_on_free=1 zeroes freed pages), so the RAM image stays sparse, then say so on the console.
systemctl is-system-running --wait >/dev/null 2>&1 || true
/usr/sbin/shellbox-settle
echo "shellbox-ready" >/dev/console
EOF
cat >"$F/shellbox-ready.service" <<'EOF'
[Unit]
Description=Shellbox golden readiness marker
After=multi-user.target

[Service]
# Not oneshot: the boot must finish without waiting for this unit, which waits for the boot to finish.
Type=simple
ExecStart=/usr/sbin/shellbox-ready

[Install]
WantedBy=multi-user.target
EOF
cat >"$F/shellbox-settle" <<'EOF'
#!/bin/sh
# shellbox-settle: write everything out and give the page cache back (freed pages are zeroed).
sync
echo 3 >/proc/sys/vm/drop_caches
EOF
cat >"$F/shellbox-rekey" <<'EOF'
#!/bin/sh
# shellbox-rekey [SEED [HOSTNAME [--no-wait]]]: run once at a clone's first resume (through the guest agent, else over
# SSH). Clones share the golden's RAM, hence its RNG state, host key and machine-id: mix in SEED (random text from the
# control plane), force a reseed, make a new host key and machine-id, take the box's name, have sshd load the new key
# (SIGHUP: it re-executes itself; open sessions are its children's and survive), print the new public key.
# Under TCG every process started costs tens of milliseconds: only shellbox-reseed, ssh-keygen and sync are started,
# the rest is the shell's builtins.
set -e
[ -z "$1" ] || printf '%s' "$1" >/dev/urandom
/usr/sbin/shellbox-reseed
# The golden's only host key is overwritten (ssh-keygen asks first: the here-document says yes).
K=/etc/ssh/ssh_host_ed25519_key
ssh-keygen -q -t ed25519 -N '' -f $K >/dev/null <<YES
y
YES
# A random (version 4) UUID from the reseeded kernel RNG, as systemd makes one: 32 hex digits without the dashes.
IFS=- read -r a b c d e </proc/sys/kernel/random/uuid
printf '%s%s%s%s%s\n' "$a" "$b" "$c" "$d" "$e" >/etc/machine-id
[ -z "$2" ] || /usr/sbin/shellbox-hostname "$2"
# sshd writes its pid file once its re-executed self listens again (it removes it as it re-executes; emptied here for
# an sshd that would not): the file says when.
read -r pid </run/sshd.pid
: >/run/sshd.pid
kill -HUP "$pid"
# Meanwhile (sshd re-executing takes ~0.3 s under TCG) the new key and machine-id go to the disk.
sync
read -r kind key _ <$K.pub
echo "$kind $key"
# Return once the re-executed sshd listens, unless the caller waits for the pid file itself (the guest agent's file
# commands start no process; a poll here starts sleep).
[ "$3" = --no-wait ] || while [ ! -s /run/sshd.pid ]; do sleep 0.05; done
EOF
# shellbox-reseed: ioctl(open("/dev/urandom"), RNDRESEEDCRNG). Writing to /dev/urandom only mixes into the
# input pool (Linux >= 5.18): without a forced reseed, clones resumed from one RAM image draw the same bytes.
# The 176-byte static ELF of build-golden-minimal.sh (documented there instruction by instruction): perl
# would do it too, but its start-up costs a fifth of a second under TCG on the first resume's path.
ELF=$(sed -n "s/^ELF+\?='\([0-9a-f]*\)'$/\1/p" "$(dirname "$SELF")/build-golden-minimal.sh" | tr -d '\n')
printf '%b' "$(echo "$ELF" | sed 's/../\\x&/g')" >"$F/shellbox-reseed"
echo "0a9131fa423ff4422bad5e4c93af8244f756d6c75acd4d58f9a2c989936eac92  $F/shellbox-reseed" | sha256sum -c --quiet
cat >"$F/shellbox-hostname" <<'EOF'
#!/bin/sh
# shellbox-hostname NAME: the box's name becomes its hostname, now and at every boot.
[ -n "$1" ] || { echo "usage: shellbox-hostname NAME" >&2; exit 2; }
[ "$(cat /etc/hostname 2>/dev/null)" = "$1" ] && [ "$(hostname)" = "$1" ] && exit 0
echo "$1" >/etc/hostname
hostname "$1"
sed -i "s/^127\.0\.1\.1\s.*/127.0.1.1\t$1/" /etc/hosts
EOF
# qemu-ga's guest-set-time sets the clock itself (settimeofday), then runs /sbin/hwclock -w, which in util-linux waits
# up to a second for the RTC's next second. A box's RTC is QEMU's, which follows the host's clock: the golden's
# /sbin/hwclock (shellbox-hwclock) exits 0 at once for `hwclock -w` and execs util-linux's, diverted to
# /sbin/hwclock.util-linux (so an upgrade of util-linux-extra leaves this one in place), for anything else. A static
# ELF rather than a script: a shell's start-up tripled guest-set-time (40 ms instead of 12 on a warm box, more on a
# just-resumed one). 235 bytes, one PT_LOAD at 0x400000, entry 0x400078:
#   mov rax,[rsp]; cmp rax,2; jne real                         argc == 2
#   mov rsi,[rsp+16]; cmp word [rsi],'-w'; jne real; cmp byte [rsi+2],0; jne real
#   xor edi,edi; mov eax,60; syscall                           exit(0)
#   real: lea rdi,[rip+path]; lea rsi,[rsp+8]; lea rdx,[rsp+rax*8+16]; mov eax,59; syscall   execve(path, argv, envp)
#   mov edi,127; mov eax,60; syscall                           exit(127) when that failed
#   path: "/sbin/hwclock.util-linux\0", then "shellbox-hwclock\0" (the runtime looks for it before using guest-set-time)
HWCLOCK='7f454c4602010100000000000000000002003e0001000000780040000000000040000000000000000000000000000000'
HWCLOCK+='000000004000380001000000000000000100000005000000000000000000000000004000000000000000400000000000'
HWCLOCK+='eb00000000000000eb000000000000000010000000000000488b04244883f802751b488b74241066813e2d77750f807e'
HWCLOCK+='0200750931ffb83c0000000f05488d3d1d000000488d742408488d54c410b83b0000000f05bf7f000000b83c0000000f'
HWCLOCK+='052f7362696e2f6877636c6f636b2e7574696c2d6c696e7578007368656c6c626f782d6877636c6f636b00'
printf '%b' "$(echo "$HWCLOCK" | sed 's/../\\x&/g')" >"$F/shellbox-hwclock"
echo "6a5e4e90077c6b6fa0d487d6b6f46ad937c887f71a350ceaae376404c3005e43  $F/shellbox-hwclock" | sha256sum -c --quiet
cat >"$F/sshd.conf" <<'EOF'
# Shellbox: keys only; one ed25519 host key (made at the first boot, and again for each clone).
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
# Right after a resume, connections queued while the box was suspended arrive at once.
MaxStartups 100:30:200
# Under TCG every cycle counts: the post-quantum hybrid key exchange (sntrup761) costs a second of a
# just-resumed box's time; curve25519 alone does not. No lastlog lookup at login.
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
PrintLastLog no
EOF
cat >"$F/customize" <<EOF
#!/bin/sh
# Runs on the host with the image root as \$1 (mmdebstrap --customize-hook).
set -e
R=\$1 F=$F
install -m 755 \$F/shellbox-boot \$F/shellbox-ready \$F/shellbox-settle \$F/shellbox-rekey \$F/shellbox-reseed \$F/shellbox-hostname "\$R/usr/sbin/"
chroot "\$R" dpkg-divert --quiet --local --rename --divert /sbin/hwclock.util-linux --add /sbin/hwclock
install -m 755 \$F/shellbox-hwclock "\$R/sbin/hwclock"
install -m 644 \$F/shellbox-boot.service \$F/shellbox-ready.service "\$R/etc/systemd/system/"
install -m 644 \$F/sshd.conf "\$R/etc/ssh/sshd_config.d/shellbox.conf"
# sshd -r: no re-execution per connection. Under TCG a re-executed sshd (dynamic linking, OpenSSL set-up)
# takes 0.5-1 s before its banner, 10-100 ms without; the cost is that children share the listener's
# address-space layout. Only the control plane reaches a box's sshd (a loopback forward on its host).
echo 'SSHD_OPTS="-r"' >"\$R/etc/default/ssh"
# No dynamic motd or mail check at every login (forks under TCG): sessions start sooner.
sed -i 's/^\(session.*pam_motd\.so.*\)/# \1/; s/^\(session.*pam_mail\.so.*\)/# \1/' "\$R/etc/pam.d/sshd"
chroot "\$R" systemctl enable shellbox-boot.service shellbox-ready.service
# Nothing a box needs: timers that wake a suspended-and-resumed box for housekeeping, consoles nobody reads.
chroot "\$R" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer dpkg-db-backup.timer man-db.timer logrotate.timer getty@tty1.service serial-getty@ttyS0.service getty-static.service \
  systemd-networkd-wait-online.service
rm -f "\$R"/etc/ssh/ssh_host_*
echo shellbox >"\$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tshellbox\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"\$R/etc/hosts"
echo 'nameserver 10.0.2.3' >"\$R/etc/resolv.conf"   # QEMU user-mode networking's DNS
echo '/dev/vda / ext4 defaults,noatime 0 1' >"\$R/etc/fstab"
: >"\$R/etc/machine-id"                             # systemd makes one at the first boot
echo 'en_US.UTF-8 UTF-8' >"\$R/etc/locale.gen"
chroot "\$R" locale-gen
echo 'LANG=en_US.UTF-8' >"\$R/etc/default/locale"
chroot "\$R" useradd --create-home --uid 1000 --shell /bin/bash --groups sudo --comment 'Shellbox user' $USER_NAME
chroot "\$R" usermod -p '*' $USER_NAME               # no password, not locked: key login only
echo '$USER_NAME ALL=(ALL) NOPASSWD:ALL' >"\$R/etc/sudoers.d/shellbox"
chmod 440 "\$R/etc/sudoers.d/shellbox"
for h in /root /home/$USER_NAME; do
  install -d -m 700 "\$R\$h/.ssh"
  install -m 600 "$(readlink -f "$KEY")" "\$R\$h/.ssh/authorized_keys"
done
chroot "\$R" chown -R $USER_NAME:$USER_NAME /home/$USER_NAME
# The build's apt and dpkg options (no Recommends, unsafe io) are not the box's: a user's apt behaves as usual.
rm -f "\$R/etc/apt/apt.conf.d/99mmdebstrap" "\$R/etc/dpkg/dpkg.cfg.d/99mmdebstrap"
EOF
# A host apt that ignores Valid-Until (a snapshot mirror) needs the same in the guest to `apt update`.
if apt-config dump | grep -q '^Acquire::Check-Valid-Until "false"'; then
  cat >>"$F/customize" <<'EOF'
printf '# As on the host that built this image (its mirror is a snapshot).\nAcquire::Check-Valid-Until "false";\n' >"$R/etc/apt/apt.conf.d/80shellbox-mirror"
EOF
fi
chmod 755 "$F/customize"

HOOKS=(
  --essential-hook="mkdir -p \"\$1/etc/initramfs-tools/conf.d\" \"\$1/usr/share/initramfs-tools/modules.d\""
  --essential-hook="cp $F/initramfs.conf \"\$1/etc/initramfs-tools/conf.d/shellbox\""
  --essential-hook="cp $F/initramfs.modules \"\$1/usr/share/initramfs-tools/modules.d/shellbox\""
  --customize-hook="$F/customize \"\$1\""
)
if [ -n "$CACHE" ]; then
  HOOKS+=(
    --setup-hook="mkdir -p \"\$1/var/cache/apt/archives\""
    --setup-hook="sync-in $(readlink -f "$CACHE") /var/cache/apt/archives"
    --customize-hook="sync-out /var/cache/apt/archives $(readlink -f "$CACHE")"
  )
fi
mmdebstrap --mode=root --variant=apt --format=directory \
  --aptopt='APT::Install-Recommends "false"' \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --dpkgopt='force-unsafe-io' \
  --include="$(echo $PACKAGES | tr ' ' ',')" \
  "${HOOKS[@]}" \
  "$SUITE" "$R" "${MIRRORS[@]}"
[ -z "$CACHE" ] || find "$CACHE" -name '*.deb' -mtime +30 -delete   # keep the cache from growing for ever

# --- Kernel and initramfs from the image: QEMU boots them directly (-kernel/-initrd) ----------------
VMLINUZ=$(ls "$R"/boot/vmlinuz-* | head -n1)
KVER=${VMLINUZ##*/vmlinuz-}
cp "$VMLINUZ" "$WORK/out/vmlinuz"
cp "$R/boot/initrd.img-$KVER" "$WORK/out/initrd.img"
INSTALLED=$(chroot "$R" dpkg-query -W -f '${Package}=${Version}\n' | sort)

# --- Disk: sparse ext4 filled from the directory (no mount), then qcow2 ---------------------------
# Inode tables and journal zeroed now, not by the booted kernel: else every clone would write them.
truncate -s "$DISK_SIZE" "$WORK/root.ext4"
mkfs.ext4 -q -F -L shellbox -E lazy_itable_init=0,lazy_journal_init=0 -d "$R" "$WORK/root.ext4"
qemu-img convert -f raw -O qcow2 "$WORK/root.ext4" "$WORK/out/base.qcow2"

json_list() { sed 's/.*/"&"/' | paste -sd, | sed 's/,/, /g'; }
cat >"$WORK/out/manifest.json" <<EOF
{
  "contentHash": "$HASH",
  "guest": "debian",
  "kernel": "$KVER",
  "kernelPackage": "linux-image-cloud-amd64",
  "diskSize": "$DISK_SIZE",
  "loginUser": "$USER_NAME",
  "readyMarker": "shellbox-ready",
  "guestAgent": true,
  "append": "console=ttyS0 root=/dev/vda rw quiet init_on_free=1 net.ifnames=0",
  "packages": {
$(echo "$INSTALLED" | awk -F= '{printf "%s    \"%s\": \"%s\"", (NR > 1 ? ",\n" : ""), $1, substr($0, length($1) + 2)} END {print ""}')
  }
}
EOF

mkdir -p "$OUT"
for f in base.qcow2 vmlinuz initrd.img manifest.json; do mv -f "$WORK/out/$f" "$OUT/$f"; done
echo "$HASH" >&4
