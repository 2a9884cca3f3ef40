'use strict'
// What a user sees when no binary fits their platform, and when a source build has no Rust.
// (The registry install itself is tested by scripts/registry-user-test.js, at the end of npm test.)

const test = require('ava')
const { unixTest } = require('./helpers/platform')
const { scaled } = require('./helpers/time')
const fc = require('fast-check')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const otherPlatform = path.join(__dirname, 'fixtures', 'other-platform.js')
const { pathWithoutRust } = require('../scripts/path-without-rust')

/** The error `require('invoke-parallel')` throws in a process made to look like `platform`. */
async function requireOn(t, { platform, arch, libc }) {
  const script = `try { require(${JSON.stringify(root)}); console.log('null') }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, isError: e instanceof Error })) }`
  const env = { ...process.env, OTHER_PLATFORM: platform, OTHER_ARCH: arch, OTHER_LIBC: libc ?? '' }
  const run = await new Promise((resolve) => {
    execFile(process.execPath, ['-r', otherPlatform, '-e', script], { env, timeout: scaled(20000) }, (error, stdout, stderr) =>
      resolve({ error, stdout, stderr }),
    )
  })
  t.falsy(run.error, run.stderr)
  return JSON.parse(run.stdout)
}

const SUPPORTED = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-gnu']
const keyOf = ({ platform, arch, libc }) => [platform, arch, platform === 'linux' ? libc : platform === 'win32' ? 'gnu' : null].filter(Boolean).join('-')

function assertNamesPlatform(t, error, { platform, arch, libc }) {
  t.truthy(error, 'require threw')
  t.true(error.isError)
  t.true(error.message.includes(`${platform} ${arch}`), error.message)
  if (platform === 'linux') t.true(error.message.includes(libc === 'musl' ? '(musl)' : '(glibc)'), error.message)
  t.true(error.message.includes('build it from source'), error.message)
  t.false(/npm has a bug|npm i\b|reinstall|try again/i.test(error.message), 'no advice a reinstall cannot follow')
  if (SUPPORTED.includes(keyOf({ platform, arch, libc }))) {
    // This clone has only its own source build: a supported platform's package is missing.
    t.is(error.code, 'ERR_INVOKE_BINARY_MISSING')
    t.true(error.message.includes(`invoke-parallel-${keyOf({ platform, arch, libc })}`), error.message)
  } else {
    t.is(error.code, 'ERR_INVOKE_UNSUPPORTED_PLATFORM')
    for (const key of SUPPORTED) t.true(error.message.includes(key), `lists ${key}: ${error.message}`)
  }
}

test('on a platform with no binary here, require names the platform, its package or what is supported, and how to build', async (t) => {
  t.timeout(scaled(60000))
  const platforms = fc.constantFrom('linux', 'darwin', 'win32', 'freebsd', 'android', 'aix', 'openbsd', 'sunos')
  const arches = fc.constantFrom('x64', 'arm64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64')
  // The platforms this clone has a source build for load it instead.
  const built = new Set(fs.readdirSync(root).map((file) => /^invoke-parallel\.(.+)\.node$/.exec(file)?.[1]).filter(Boolean))
  const unbuilt = (each) => !built.has(keyOf(each))
  const target = fc.record({ platform: platforms, arch: arches, libc: fc.constantFrom('gnu', 'musl') }).filter(unbuilt)
  const named = [
    { platform: 'darwin', arch: 'arm64' },
    { platform: 'win32', arch: 'x64' },
    { platform: 'win32', arch: 'ia32' },
    { platform: 'freebsd', arch: 'x64' },
    { platform: 'linux', arch: 'arm64', libc: 'gnu' },
    // A musl Node on this glibc host: the binary follows the Node, not the host's /usr/bin/ldd.
    { platform: 'linux', arch: 'x64', libc: 'musl' },
  ]
  for (const each of [...named.filter(unbuilt), ...fc.sample(target, 6)]) {
    assertNamesPlatform(t, await requireOn(t, each), each)
  }
})

unixTest('it makes a PATH without Rust of symbolic links and finds npm with sh')('a source build without a Rust toolchain says it needs cargo, not "cargo metadata failed"', async (t) => {
  t.timeout(scaled(60000))
  // A PATH with node and the system's tools, and no cargo or rustc (even where they sit in /usr/bin).
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'no-rust-'))
  t.teardown(() => fs.rmSync(bin, { recursive: true, force: true }))
  fs.symlinkSync(process.execPath, path.join(bin, 'node'))
  const noRust = pathWithoutRust([bin])
  t.teardown(noRust.cleanup)
  const npm = process.env.npm_execpath || fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())
  const run = await new Promise((resolve) => {
    execFile(
      process.execPath,
      [npm, 'run', 'prepare'],
      { cwd: root, env: { ...process.env, PATH: noRust.PATH }, timeout: scaled(30000) },
      (error, stdout, stderr) => resolve({ code: error?.code ?? 0, stdout, stderr }),
    )
  })
  t.not(run.code, 0)
  t.regex(run.stderr, /the source build needs cargo \(Rust >= 1\.88/)
  t.notRegex(run.stderr, /cargo metadata failed/)
  // The way round it names every platform a registry install has a binary for.
  for (const key of SUPPORTED) t.true(run.stderr.includes(key), `the hint lacks ${key}: ${run.stderr}`)
})

