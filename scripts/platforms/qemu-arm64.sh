#!/usr/bin/env bash
# qemu-arm64.sh: makes this x86_64 Linux run arm64 Linux programs. An addon's pool execs
# process.execPath for each worker, so calling qemu on the first node is not enough: the kernel
# must hand every arm64 ELF to qemu (binfmt_misc, which root may register here). The arm64 C and
# C++ runtimes Node needs (glibc, libstdc++, libgcc_s, libatomic for Node 26) are Debian's arm64
# packages installed beside the amd64 ones (multiarch: /lib/ld-linux-aarch64.so.1 and
# /usr/lib/aarch64-linux-gnu, shadowing nothing). Not a private sysroot through QEMU_LD_PREFIX:
# tests that give a worker an environment of their own would drop that variable.
set -euo pipefail
. "$(dirname "$0")/retry.sh"
command -v qemu-aarch64-static >/dev/null || apt_install qemu-user-static
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
# F: the kernel opens qemu now, so it also works inside other mount namespaces and chroots.
[ -e "$binfmt/qemu-aarch64" ] || cat /usr/lib/binfmt.d/qemu-aarch64.conf > "$binfmt/register"
if ! dpkg -s libstdc++6:arm64 libatomic1:arm64 >/dev/null 2>&1; then
  dpkg --add-architecture arm64
  apt_install libc6:arm64 libstdc++6:arm64 libatomic1:arm64
fi
