'use strict'
// How this x86_64 Linux machine builds the addon for each release target: the environment for
// `napi build --target <triple>` and the `strip` for its output. The outside tools come from the
// scripts in scripts/platforms/ (each idempotent, each fetching from npm, PyPI or Debian only,
// each keeping what it fetched under $TOOLCHAINS, /work/toolchains by default).
//
// - linux-x64-gnu: napi-rs's gcc with a glibc 2.17 sysroot (npm dev dependency), rustup's Rust.
// - linux-arm64-gnu: napi-rs's aarch64 gcc with a glibc 2.17 sysroot (npm), Debian's rustc-web
//   and its arm64 std.
// - every other target: Debian's rustc-web with `-Z build-std` (rustup cannot fetch other
//   targets' std here); musl-gcc for x64 musl, zig for arm64 musl and macOS, mingw-w64 for Windows.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const platforms = path.join(__dirname, 'platforms')
const BUILD_STD = { RUSTC_BOOTSTRAP: '1', CARGO_UNSTABLE_BUILD_STD: 'std,panic_abort' }
// macOS 11 is the oldest release with arm64; without it the dylib claims the SDK's macOS (15).
const MACOSX_DEPLOYMENT_TARGET = '11.0'

/** Runs scripts/platforms/<name> and returns the last line it prints (the path it set up). */
function setUp(name, ...args) {
  const out = execFileSync('bash', [path.join(platforms, name), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  return out.trim().split('\n').pop()
}

/** Environment keys cargo and cc-rs read for `triple`'s linker, C compiler and archiver. */
function linkerEnv(triple, { linker, cc = linker, ar }) {
  const underscored = triple.replace(/-/g, '_')
  return {
    [`CARGO_TARGET_${underscored.toUpperCase()}_LINKER`]: linker,
    [`CC_${underscored}`]: cc,
    ...(ar ? { [`AR_${underscored}`]: ar } : {}),
  }
}

/** A one-line shell script in `dir` that runs `command` with fixed leading arguments. */
function wrapper(dir, name, command) {
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, name)
  const text = `#!/bin/sh\nexec ${command} "$@"\n`
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) fs.writeFileSync(file, text, { mode: 0o755 })
  return file
}

const RECIPES = {
  'x86_64-unknown-linux-gnu'(cacheDir) {
    const dependency = 'napi-cross-toolchain-x64'
    const archive = require(dependency).toolchainPath
    const { version } = require(`${dependency}/package.json`)
    const home = path.join(cacheDir, `toolchain-x86_64-unknown-linux-gnu-${version}`)
    const done = path.join(home, '.unpacked')
    if (!fs.existsSync(done)) {
      fs.rmSync(home, { recursive: true, force: true })
      fs.mkdirSync(home, { recursive: true })
      execFileSync('tar', ['-xJf', archive, '-C', home], { stdio: 'inherit' })
      fs.writeFileSync(done, `${archive}\n`)
    }
    const tool = (name) => path.join(home, 'bin', `x86_64-unknown-linux-gnu-${name}`)
    const env = linkerEnv('x86_64-unknown-linux-gnu', { linker: tool('gcc'), ar: tool('ar') })
    env.CXX_x86_64_unknown_linux_gnu = tool('g++')
    return { env, strip: [tool('strip'), '--strip-all'] }
  },
  'aarch64-unknown-linux-gnu'() {
    const rustc = path.join(setUp('rust-web.sh'), 'rustc')
    const bin = setUp('cross-aarch64.sh')
    const tool = (name) => path.join(bin, `aarch64-unknown-linux-gnu-${name}`)
    return { env: { RUSTC: rustc, ...linkerEnv('aarch64-unknown-linux-gnu', { linker: tool('gcc'), ar: tool('ar') }) }, strip: [tool('strip'), '--strip-all'] }
  },
  'x86_64-unknown-linux-musl'() {
    const rustc = path.join(setUp('rust-web.sh'), 'rustc')
    const libgcc = setUp('musl-link.sh')
    return {
      env: {
        RUSTC: rustc,
        ...BUILD_STD,
        ...linkerEnv('x86_64-unknown-linux-musl', { linker: 'musl-gcc' }),
        // napi-rs adds -crt-static for musl to RUSTFLAGS, which overrides cargo's per-target
        // flags: everything goes in RUSTFLAGS.
        RUSTFLAGS: `-C target-feature=-crt-static -C link-self-contained=no -L native=${libgcc}`,
      },
      strip: ['strip', '--strip-all'],
    }
  },
  'aarch64-unknown-linux-musl'(cacheDir) {
    const rustc = path.join(setUp('rust-web.sh'), 'rustc')
    const zig = path.join(setUp('zig.sh'), 'zig')
    const cc = wrapper(path.join(cacheDir, 'zig-cc'), 'aarch64-linux-musl-cc', `"${zig}" cc -target aarch64-linux-musl`)
    return {
      env: {
        RUSTC: rustc,
        ...BUILD_STD,
        ...linkerEnv('aarch64-unknown-linux-musl', { linker: cc }),
        // zig brings musl's libc; libgcc_s is Alpine's at run time, like x64 musl's.
        RUSTFLAGS: '-C target-feature=-crt-static -C link-self-contained=no',
      },
      strip: [path.join(setUp('cross-aarch64.sh'), 'aarch64-unknown-linux-gnu-strip'), '--strip-all'],
    }
  },
  'x86_64-apple-darwin'() {
    return darwin()
  },
  'aarch64-apple-darwin'() {
    return darwin()
  },
  'x86_64-pc-windows-gnu'() {
    const rustc = path.join(setUp('rust-web.sh'), 'rustc')
    const libnode = setUp('mingw.sh')
    return {
      env: {
        RUSTC: rustc,
        ...BUILD_STD,
        ...linkerEnv('x86_64-pc-windows-gnu', { linker: 'x86_64-w64-mingw32-gcc', ar: 'x86_64-w64-mingw32-ar' }),
        LIBNODE_PATH: libnode,
      },
      strip: ['x86_64-w64-mingw32-strip', '--strip-all'],
    }
  },
}

/** macOS through cargo-zigbuild (napi build --cross-compile), which drives zig as the linker. */
function darwin() {
  const rustc = path.join(setUp('rust-web.sh'), 'rustc')
  const bin = setUp('zig.sh')
  return {
    // rustc strips Apple binaries with rust-objcopy, which Debian's rustc-web lacks: llvm-strip
    // does it after the build instead.
    // rustc limits a dylib's exports with -exported_symbols_list, which zig's Mach-O linker does
    // not implement (cargo-zigbuild drops it), so every Rust symbol was exported (3,759). Hidden
    // visibility from the start (std included, built here) leaves the C-level ones only: the
    // N-API entry point. RUSTC_BOOTSTRAP (BUILD_STD) lets the stable rustc take the -Z flag.
    env: {
      RUSTC: rustc,
      ...BUILD_STD,
      MACOSX_DEPLOYMENT_TARGET,
      CARGO_PROFILE_RELEASE_STRIP: 'false',
      RUSTFLAGS: '-Z default-visibility=hidden',
      PATH: `${bin}:${process.env.PATH}`,
    },
    napiArgs: ['--cross-compile'],
    strip: ['llvm-strip', '-x'],
  }
}

/**
 * Prepares the toolchain for `triple` (under `cacheDir` or $TOOLCHAINS) and returns
 * `{env, strip: [command, ...args], napiArgs}`: the environment napi build needs, how to strip its
 * output, and extra arguments for napi build.
 */
function crossToolchain(triple, cacheDir) {
  const recipe = RECIPES[triple]
  if (!recipe) throw new Error(`no cross toolchain for ${triple}: known are ${Object.keys(RECIPES).join(', ')}`)
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the release build runs on a linux x64 host (this is ${process.platform} ${process.arch})`)
  }
  return { napiArgs: [], ...recipe(cacheDir) }
}

module.exports = { crossToolchain, TRIPLES: Object.keys(RECIPES) }
