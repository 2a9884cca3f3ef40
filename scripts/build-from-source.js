'use strict'
// `prepare`: the source build that a clone's `npm install`, a git install or a folder install runs.
// Without a Rust toolchain napi-rs fails with "cargo metadata failed to run"; this says what is
// missing instead. (A registry install runs no script: its binary comes prebuilt.)

const { spawnSync } = require('node:child_process')

const { SUPPORTED } = require('../lib/platform')

const MINIMUM = [1, 88]
const REGISTRY_HINT = `A registry install (\`npm install invoke-parallel\`) needs no Rust: it ships prebuilt binaries for ${SUPPORTED.join(', ')}.`

function fail(message) {
  console.error(`invoke-parallel: ${message}\n${REGISTRY_HINT}`)
  process.exit(1)
}

const probe = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
if (probe.error || probe.status !== 0) {
  const why = probe.error?.code === 'ENOENT' ? 'no `cargo` on PATH' : `\`cargo --version\` failed: ${probe.error?.message ?? probe.stderr.trim()}`
  fail(`the source build needs cargo (Rust >= ${MINIMUM.join('.')}, from https://rustup.rs), and there is ${why}.`)
}
const [major, minor] = (/cargo (\d+)\.(\d+)/.exec(probe.stdout) ?? []).slice(1).map(Number)
if (!(major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]))) {
  fail(`the source build needs cargo (Rust >= ${MINIMUM.join('.')}); this one is ${probe.stdout.trim()} (\`rustup update\`).`)
}

// npm_execpath is the npm that runs this script; run the build with that same npm.
const npm = process.env.npm_execpath
const build = npm
  ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build'], { stdio: 'inherit' })
process.exit(build.status ?? 1)
