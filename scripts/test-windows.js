'use strict'
// npm run test:windows: the portable driver on Windows, under wine 10 with Windows builds of
// Node 22 and 24. Builds the addon for x86_64-pc-windows-gnu (mingw-w64, Debian's rustc-web with
// -Z build-std, a stub libnode.dll for napi-build: the addon finds N-API and libuv at run time)
// unless INVOKE_WINDOWS_ADDON names one, then runs the README's first example and
// __test__/fixtures/windows/smoke.js (calls, errors, a worker that dies, timeout, cancel,
// invoke.map, a listening server to a worker and back, close) with each node.exe,
// then the JS suite (__test__/*.test.js but those INVOKE_WINDOWS_EXCLUDE names, or the files
// INVOKE_WINDOWS_SUITE names) by ava under each node.exe (scripts/platforms/windows-suite.js): a
// test that cannot apply on Windows skips itself and its title says why; any failed test or file
// fails this script. INVOKE_WINDOWS_OUT keeps each file's TAP; INVOKE_WINDOWS_AT_ONCE sets how
// many files run at once (default 2). A file that outlives 12 min (INVOKE_WINDOWS_FILE_DEADLINE,
// ms) is ended from outside wine and fails (scripts/platforms/windows-suite-watch.js).
//
// Toolchains: scripts/platforms/{rust-web,mingw,wine,fetch-node}.sh set them up where they are;
// else RUST_WEB_BIN (rustc-web), WINE_RUN (wine-run.sh of the trixie chroot), WINDOWS_NODES
// (node.exe paths, space-separated), or what $TOOLCHAINS already holds.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { wineNode } = require('./platforms/wine-node')
const { watchSuite } = require('./platforms/windows-suite-watch')

const root = path.join(__dirname, '..')
const TOOLCHAINS = process.env.TOOLCHAINS || '/work/toolchains'
const PLATFORMS = path.join(root, 'scripts', 'platforms')

/** What scripts/platforms/NAME.sh prints (it sets the toolchain up once), else `fallback`. */
function setUp(name, args, fallback) {
  const script = path.join(PLATFORMS, `${name}.sh`)
  if (!fs.existsSync(script)) return fallback
  return execFileSync(script, args, { encoding: 'utf8', env: { ...process.env, TOOLCHAINS } }).trim()
}

const RUST_WEB_BIN = process.env.RUST_WEB_BIN || setUp('rust-web', [], path.join(TOOLCHAINS, 'rust-web-1.96', 'bin'))
const WINE_RUN = process.env.WINE_RUN || setUp('wine', [], path.join(TOOLCHAINS, 'wine-trixie', 'wine-run.sh'))
const NODES = (process.env.WINDOWS_NODES || setUp('fetch-node', ['win-x64', ...windowsVersions()], ''))
  .split(/\s+/)
  .filter(Boolean)

/** NODE_WIN_X64 of scripts/platforms/versions.sh, where it is. */
function windowsVersions() {
  const versions = path.join(PLATFORMS, 'versions.sh')
  if (!fs.existsSync(versions)) return []
  const line = fs.readFileSync(versions, 'utf8').match(/^NODE_WIN_X64="([^"]*)"/m)
  return line ? line[1].split(' ').filter((v) => /^(22|24)\./.test(v)) : []
}
const TARGET = 'x86_64-pc-windows-gnu'

function windowsNodes() {
  if (NODES.length > 0) return NODES
  const dir = path.join(TOOLCHAINS, 'node')
  const found = fs
    .readdirSync(dir)
    .filter((name) => /^win-x64-(22|24)\./.test(name))
    .map((name) => path.join(dir, name, 'bin', 'node.exe'))
    .filter((file) => fs.existsSync(file))
  // One of each major version, the newest.
  const byMajor = new Map(found.sort().map((file) => [file.match(/win-x64-(\d+)\./)[1], file]))
  return [...byMajor.values()]
}

function buildAddon(work) {
  if (process.env.INVOKE_WINDOWS_ADDON) return process.env.INVOKE_WINDOWS_ADDON
  let stub = setUp('mingw', [], null)
  if (stub === null) {
    stub = path.join(work, 'libnode')
    fs.mkdirSync(stub)
    fs.writeFileSync(path.join(stub, 'stub.c'), 'void invoke_parallel_stub(void) {}\n')
    execFileSync('x86_64-w64-mingw32-gcc', ['-shared', '-o', path.join(stub, 'libnode.dll'), path.join(stub, 'stub.c')])
  }
  const targetDir = path.join(root, 'target', 'windows')
  execFileSync(
    'cargo',
    ['build', '--quiet', '--release', '-Z', 'build-std=std,panic_abort', '--target', TARGET, '--target-dir', targetDir, '-p', 'invoke-parallel'],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        RUSTC: path.join(RUST_WEB_BIN, 'rustc'),
        RUSTC_BOOTSTRAP: '1',
        LIBNODE_PATH: stub,
        CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER: 'x86_64-w64-mingw32-gcc',
        CARGO_PROFILE_RELEASE_LTO: 'false',
      },
    },
  )
  return path.join(targetDir, TARGET, 'release', 'invoke_parallel.dll')
}

/** Runs node.exe under wine with `args` in `cwd`; returns what it printed. */
function wine(node, args, cwd, env, timeout) {
  return wineNode(node, args, { cwd, env: { ...process.env, WINE_RUN, ...env }, timeout })
}

/** The README's code block marked `<!-- example: js/NAME -->`. */
function readmeExample(name) {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  const at = readme.indexOf(`<!-- example: js/${name} -->`)
  assert.notEqual(at, -1, `README example ${name}`)
  const start = readme.indexOf('```js\n', at) + 6
  return readme.slice(start, readme.indexOf('\n```', start))
}

// Under wine a Node starts in 240-380 ms, not ~40 ms (field notes, "Platforms"); what runs once
// started goes at native speed. The suite's time limits (guards against hangs) are scaled by 4.
const WINE_SUITE_ENV = { INVOKE_TEST_TIME_SCALE: '4' }

/** The test files the suite runs under wine: INVOKE_WINDOWS_SUITE (space-separated), else all but
 * those INVOKE_WINDOWS_EXCLUDE names (space-separated: a new test file runs unless excluded). */
function suiteFiles() {
  if (process.env.INVOKE_WINDOWS_SUITE) return process.env.INVOKE_WINDOWS_SUITE.split(/\s+/).filter(Boolean)
  const excluded = new Set((process.env.INVOKE_WINDOWS_EXCLUDE ?? '').split(/\s+/).filter(Boolean))
  const dir = path.join(root, '__test__')
  const all = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.test.js'))
    .sort()
    .map((name) => `__test__/${name}`)
  const unknown = [...excluded].filter((file) => !all.includes(file))
  assert.deepEqual(unknown, [], 'INVOKE_WINDOWS_EXCLUDE names files that do not exist')
  return all.filter((file) => !excluded.has(file))
}

/** Runs the suite with `node` under wine; counts its TAP: passed, skipped, and the failed lines. */
async function suite(node, out, env, files) {
  fs.mkdirSync(out)
  const started = Date.now()
  const suiteScript = path.join(PLATFORMS, 'windows-suite.js')
  const ended = await watchSuite({ wineRun: WINE_RUN, node, suite: suiteScript, out, files, env: { ...process.env, ...env }, limitMs: 3 * 60 * 60 * 1000 })
  const counts = { pass: 0, skip: 0, fail: [], seconds: Math.round((Date.now() - started) / 1000) }
  // Ended early (killed, or crashed): the files it did not reach have no TAP to count.
  if (ended.code !== 0) counts.fail.push(`windows-suite.js ended with ${ended.signal ?? `code ${ended.code}`}: ${ended.printed.slice(-2000)}`)
  for (const name of fs.readdirSync(out).filter((file) => file.endsWith('.tap')).sort()) {
    const tap = fs.readFileSync(path.join(out, name), 'utf8')
    for (const line of tap.split(/\r?\n/)) {
      if (/^not ok\b/.test(line)) counts.fail.push(`${name.replace(/\.tap$/, '')}: ${line}`)
      else if (/^ok\b.*# (SKIP|TODO)/i.test(line)) counts.skip++
      else if (/^ok\b/.test(line)) counts.pass++
    }
    // A file whose ava printed no plan ended early (a crash ava could not report as a test).
    if (!/^1\.\.\d+/m.test(tap)) counts.fail.push(`${name.replace(/\.tap$/, '')}: ava ended without a plan: ${tap.slice(-400)}`)
  }
  // Each file's time, slowest first: what a part of the suite would cost (INVOKE_WINDOWS_SUITE).
  const times = fs.existsSync(path.join(out, 'times.jsonl')) ? fs.readFileSync(path.join(out, 'times.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line)) : []
  for (const { file, ms } of times.sort((a, b) => b.ms - a.ms)) console.log(`  ${Math.round(ms / 1000)} s  ${file}`)
  for (const line of counts.fail) console.log(`  failed: ${line}`)
  return counts
}

/** Where the loader looks for a build of this clone on Windows x64. */
const SOURCE_BUILD = path.join(root, 'invoke-parallel.win32-x64-gnu.node')

async function main() {
  const files = suiteFiles()
  let placed = false
  // INVOKE_WINDOWS_OUT keeps each file's TAP (and times.jsonl) there, for reading a failure after.
  const kept = process.env.INVOKE_WINDOWS_OUT
  if (kept) fs.mkdirSync(kept, { recursive: true })
  const work = kept ? fs.mkdtempSync(path.join(kept, 'run-')) : fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-windows-'))
  try {
    const built = buildAddon(work)
    // The loader's override: the package itself knows no Windows binary yet.
    const addon = path.join(work, 'invoke-parallel.win32-x64-gnu.node')
    fs.copyFileSync(built, addon)
    const env = { NAPI_RS_NATIVE_LIBRARY_PATH: addon }
    // The suite finds the addon where a clone's own build leaves it, as every worker does: a pool
    // given an environment of its own (env: {...}) passes its workers no override.
    fs.copyFileSync(built, SOURCE_BUILD)
    placed = true
    const example = path.join(work, 'example')
    fs.mkdirSync(path.join(example, 'node_modules'), { recursive: true })
    fs.symlinkSync(root, path.join(example, 'node_modules', 'invoke-parallel'))
    fs.writeFileSync(path.join(example, 'hash.js'), readmeExample('hash.js'))
    fs.writeFileSync(path.join(example, 'main.js'), readmeExample('main.js'))
    const nodes = windowsNodes()
    const suites = []
    assert.ok(nodes.length > 0, `no Windows node.exe under ${TOOLCHAINS}/node (scripts/platforms/fetch-node.sh)`)
    for (const node of nodes) {
      const version = node.match(/win-x64-([\d.]+)/)[1]
      const printed = wine(node, ['main.js'], example, env)
      assert.match(printed, /2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824/, printed)
      assert.match(printed, /\[ 1, 4, 9, 16 \]/, printed)
      console.log(`Node ${version} (wine): the README example ran`)
      const results = path.join(work, `smoke-${version}.jsonl`)
      wine(node, [path.join(root, '__test__', 'fixtures', 'windows', 'smoke.js'), root, results], work, env)
      const seen = Object.fromEntries(
        fs.readFileSync(results, 'utf8').trim().split('\n').map((line) => JSON.parse(line)).map(({ name, value }) => [name, value]),
      )
      assert.deepEqual(seen, {
        driver: 'portable',
        add: 5,
        many: true,
        workers: 2,
        big: true,
        text: 'héllo ✓ 😀',
        thrown: { isRangeError: true, code: 'E_SMOKE', message: 'nope' },
        'died and ran again': true,
        timeout: 'ERR_INVOKE_TIMEOUT',
        cancel: 'ERR_INVOKE_CANCELLED',
        map: [1, 2, 3, 4, 5],
        socket: 'round trip',
        'sleeps overlap': true,
        closed: true,
        'forced close': 'ERR_INVOKE_POOL_CLOSED',
      })
      console.log(`Node ${version} (wine): ${Object.keys(seen).length} checks of the smoke run passed`)
      suites.push({ version, ...(await suite(node, path.join(work, `suite-${version}`), WINE_SUITE_ENV, files)) })
    }
    for (const { version, pass, skip, fail, seconds } of suites) {
      console.log(`Node ${version} (wine): the JS suite: ${pass} passed, ${skip} skipped, ${fail.length} failed in ${seconds} s`)
    }
    const failed = suites.flatMap(({ version, fail }) => fail.map((line) => `Node ${version}: ${line}`))
    assert.deepEqual(failed, [], 'tests failed under wine')
  } finally {
    if (placed) fs.rmSync(SOURCE_BUILD, { force: true })
    if (!kept) fs.rmSync(work, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
