'use strict'
// napi-rs's prebuilt gcc toolchain with a glibc 2.17 sysroot (manylinux2014), from the npm dev
// dependency `napi-cross-toolchain-x64`, so a release binary loads on any Linux with glibc >= 2.17.
// `napi build --use-napi-cross` would fetch the same archive with `npm pack` at build time, at a
// version of the toolchain package that does not exist; unpacking the installed one needs no
// network and works from `npm ci` alone.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

/** Rust target triple -> the dev dependency that holds its toolchain (for an x64 build host). */
const TOOLCHAINS = { 'x86_64-unknown-linux-gnu': 'napi-cross-toolchain-x64' }

/**
 * Unpacks the toolchain for `triple` under `cacheDir` (once per toolchain version) and returns
 * the environment that makes cargo link with it, and its `strip`.
 */
function crossToolchain(triple, cacheDir) {
  const dependency = TOOLCHAINS[triple]
  if (!dependency) throw new Error(`no cross toolchain for ${triple}: known are ${Object.keys(TOOLCHAINS).join(', ')}`)
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the release build runs on a linux x64 host (this is ${process.platform} ${process.arch})`)
  }
  const archive = require(dependency).toolchainPath
  const { version } = require(`${dependency}/package.json`)
  const home = path.join(cacheDir, `toolchain-${triple}-${version}`)
  const done = path.join(home, '.unpacked')
  if (!fs.existsSync(done)) {
    fs.rmSync(home, { recursive: true, force: true })
    fs.mkdirSync(home, { recursive: true })
    execFileSync('tar', ['-xJf', archive, '-C', home], { stdio: 'inherit' })
    fs.writeFileSync(done, `${archive}\n`)
  }
  const tool = (name) => path.join(home, 'bin', `${triple}-${name}`)
  const underscored = triple.replace(/-/g, '_')
  const env = {
    [`CARGO_TARGET_${underscored.toUpperCase()}_LINKER`]: tool('gcc'),
    // cc-rs reads these for a build whose target is the host's own triple.
    [`CC_${underscored}`]: tool('gcc'),
    [`CXX_${underscored}`]: tool('g++'),
    [`AR_${underscored}`]: tool('ar'),
  }
  return { env, strip: tool('strip') }
}

module.exports = { crossToolchain }
