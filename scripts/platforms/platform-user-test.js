'use strict'
// node scripts/platforms/platform-user-test.js <platform>: a platform package from dist/ (written
// by `npm run release:pack`) proven as a user there gets it, on this x86_64 machine:
// Each installs `invoke-parallel` by name from a local registry over dist/ (scripts/local-registry.js)
// with npm's --os, --cpu and --libc for the platform, as the README tells a user installing for
// another platform than npm's host.
// - linux-x64-musl: a musl Node (node-musl.sh) runs npm itself, which installs the musl package;
//   the README examples run, also with process.report taken away; then the whole JS suite runs
//   under that Node with the installed binary as the checkout's own (the loader picks it for musl).
// - linux-arm64-gnu: arm64 Nodes 22 and 24 under qemu-user (binfmt, qemu-arm64.sh); npm installs
//   for linux arm64 glibc; the README examples run on each Node; then a part of the JS suite runs
//   under Node 22, its time limits scaled (INVOKE_TEST_TIME_SCALE) and the tests that read what
//   qemu does not emulate skipped.
// - linux-arm64-musl: the arm64 musl Node under qemu runs the README examples.
// - win32-x64-gnu: Windows builds of Node 22 and 24 under wine 10 (wine.sh) run the README
//   examples from the installed tarballs: the loader picks the win32 package by itself (no
//   NAPI_RS_NATIVE_LIBRARY_PATH, which is removed from their environment).
// Prints `platform-user <platform>: N passed, M failed` last.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { readmeExamples, runExample, execNode } = require('../readme-examples')
const { wineNode } = require('./wine-node')
const { startLocalRegistry, releaseRegistryFolder } = require('../local-registry')

const root = path.join(__dirname, '..', '..')
const pkg = require('../../package.json')
const dist = path.join(root, 'dist')
const platform = process.argv[2]

const setUp = (script, ...args) =>
  execFileSync('bash', [path.join(__dirname, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
const versions = (name) =>
  execFileSync('bash', ['-c', `. "${path.join(__dirname, 'versions.sh')}" && echo $${name}`], { encoding: 'utf8' }).trim().split(/\s+/)

// Under qemu-user everything runs about ten times slower (a Node starts in ~1 s, not ~40 ms).
const QEMU = { INVOKE_TEST_TIME_SCALE: '10', INVOKE_TEST_EMULATED: 'qemu-user' }
// The part of the suite run under qemu: the pool's life cycle, values and errors both ways,
// workers dying, process groups. ~4 minutes there; the whole suite would take ~40.
const QEMU_SUITE = ['pool', 'values', 'errors', 'worker-death', 'process-group'].map((name) => `__test__/${name}.test.js`)

const PLATFORMS = {
  'linux-x64-musl': () => {
    const node = setUp('node-musl.sh', 'x64').pop()
    const npm = path.join(path.dirname(node), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')
    const muslLibc = path.join(path.dirname(node), '..', 'lib', 'libc.musl-x86_64.so.1')
    return { nodes: [node], install: [node, npm], env: {}, suite: { node, files: [] }, muslLibc }
  },
  'linux-arm64-gnu': () => {
    setUp('qemu-arm64.sh')
    const nodes = setUp('fetch-node.sh', 'linux-arm64', ...versions('NODE_LINUX_ARM64'))
    return {
      nodes,
      install: [process.execPath, npmCli()],
      env: QEMU,
      suite: { node: nodes[0], files: QEMU_SUITE },
    }
  },
  'linux-arm64-musl': () => {
    setUp('qemu-arm64.sh')
    const node = setUp('node-musl.sh', 'arm64').pop()
    const muslLibc = path.join(path.dirname(node), '..', 'lib', 'libc.musl-aarch64.so.1')
    return { nodes: [node], install: [process.execPath, npmCli()], env: QEMU, muslLibc }
  },
  'win32-x64-gnu': () => {
    // Node 26 is left out as npm run test:windows leaves it out.
    const nodes = setUp('fetch-node.sh', 'win-x64', ...versions('NODE_WIN_X64').filter((v) => /^(22|24)\./.test(v)))
    return { nodes, install: [process.execPath, npmCli()], env: {}, exec: wineNode }
  },
}

function npmCli() {
  return process.env.npm_execpath || fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())
}

let passed = 0
let failed = 0
async function check(name, fn) {
  if (failed) return
  const started = Date.now()
  try {
    await fn()
    passed++
    console.log(`platform-user ${platform}: ✔ ${name} (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  } catch (error) {
    failed++
    console.error(`platform-user ${platform}: ✘ ${name}\n`, error)
  }
}

async function main() {
  assert.ok(PLATFORMS[platform], `platform: one of ${Object.keys(PLATFORMS).join(', ')}`)
  const setup = PLATFORMS[platform]()
  const binaryName = `${pkg.napi.binaryName}.${platform}.node`
  const app = fs.mkdtempSync(path.join(os.tmpdir(), `invoke-parallel-${platform}-`))
  const env = { ...process.env, ...setup.env, npm_config_cache: path.join(app, '.npm-cache') }
  for (const key of Object.keys(env)) if (/^npm_(?!config_cache$)/i.test(key)) delete env[key]
  // The loader must find the binary by itself.
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  const exec = setup.exec ?? execNode
  const installed = path.join(app, 'node_modules', `${pkg.name}-${platform}`, binaryName)

  await check(`npm installs invoke-parallel by name with ${platform}'s package into a new project`, async () => {
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'platform-user', private: true }))
    // The main package by name from a registry holding dist/'s tarballs, as a user installs it:
    // npm chooses the optional platform package itself. It decides the C library from the host's
    // /usr/bin/ldd (glibc here, where an Alpine host says musl) and the CPU from the installing
    // Node, so the --os, --cpu and --libc flags the README gives for another platform say which
    // this is; npm installs the package only if its os, cpu and libc fields match them.
    const tarballs = [`${pkg.name}-${pkg.version}.tgz`, `${pkg.name}-${platform}-${pkg.version}.tgz`]
    for (const name of tarballs) assert.ok(fs.existsSync(path.join(dist, name)), `dist/ has ${name} (release:pack)`)
    const [command, ...args] = setup.install
    const [os_, cpu, libc] = platform.split('-')
    const settings = [`os=${os_}`, `cpu=${cpu}`, ...(os_ === 'linux' ? [`libc=${libc === 'gnu' ? 'glibc' : libc}`] : [])]
    const registry = await startLocalRegistry(releaseRegistryFolder(dist, fs.mkdtempSync(path.join(app, 'registry-'))))
    try {
      // The flags on the command line first; then, as the README says to keep them for later
      // installs, the same settings in .npmrc and `npm ci` from the lockfile.
      fs.writeFileSync(path.join(app, '.npmrc'), `registry=${registry.url}\n`)
      const npm = (...more) => execFileSync(command, [...args, ...more, '--no-audit', '--no-fund'], { cwd: app, env, stdio: 'inherit' })
      npm('install', ...settings.map((setting) => `--${setting}`), pkg.name)
      fs.rmSync(path.join(app, 'node_modules'), { recursive: true })
      fs.writeFileSync(path.join(app, '.npmrc'), [`registry=${registry.url}`, ...settings, ''].join('\n'))
      npm('ci')
    } finally {
      registry.stop()
    }
    const present = fs.readdirSync(path.join(app, 'node_modules')).filter((name) => name.startsWith(`${pkg.name}-`))
    assert.deepEqual(present, [`${pkg.name}-${platform}`], 'this platform\'s package is installed')
    const manifest = require(path.join(app, 'node_modules', `${pkg.name}-${platform}`, 'package.json'))
    // Only Linux packages name a C library (npm knows no libc elsewhere; win32's gnu is mingw's).
    const libcField = os_ === 'linux' ? [libc === 'gnu' ? 'glibc' : libc] : undefined
    assert.deepEqual([manifest.os, manifest.cpu, manifest.libc], [[os_], [cpu], libcField])
    // With musl's own libc at hand, every import is checked against its exports.
    const checkEnv = setup.muslLibc ? { ...process.env, MUSL_LIBC: setup.muslLibc } : process.env
    execFileSync(process.execPath, [path.join(__dirname, 'check-binary.js'), platform, installed], { stdio: 'inherit', env: checkEnv })
  })

  await check("the README's first example runs as CommonJS and as an ES module on each Node", () => {
    const examples = readmeExamples()
    const dir = path.join(app, 'js')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'js', private: true, type: 'commonjs' }))
    for (const file of ['js/hash.js', 'js/main.js', 'js/main.mjs']) fs.writeFileSync(path.join(app, file), examples[file])
    for (const node of setup.nodes) {
      const version = exec(node, ['-p', 'process.version + " " + process.platform + " " + process.arch'], { cwd: dir, env }).trim().split('\n').pop() // wine may print its own warnings first
      for (const main of ['main.js', 'main.mjs']) runExample(node, dir, main, env, 180000, exec)
      console.log(`platform-user ${platform}: the README example ran on Node ${version}`)
    }
  })

  if (platform === 'linux-x64-musl') {
    await check('without process.report (removed, or a getter that throws) the loader still picks musl, from the executable', () => {
      // A sandbox or test environment may take the diagnostic report away: the C library then
      // comes from the dynamic loader this Node's executable names (here musl's, on a glibc host).
      for (const setupCode of ["Object.defineProperty(process, 'report', { value: undefined })", "Object.defineProperty(process, 'report', { get() { throw new Error('no report') } })"]) {
        const script = `${setupCode}; try { require('invoke-parallel'); console.log('loaded') } catch (e) { console.log(e.code) }`
        const out = exec(setup.nodes[0], ['-e', script], { cwd: app, env }).trim()
        assert.equal(out, 'loaded', setupCode)
      }
    })
  }

  if (setup.suite) {
    await check(`the JS suite (${setup.suite.files.length ? setup.suite.files.join(' ') : 'all of it'}) passes with the installed binary`, () => {
      // The checkout loads its own build first: the installed binary becomes it for this run.
      const own = path.join(root, binaryName)
      assert.ok(!fs.existsSync(own), `${own} exists already: remove it first`)
      fs.copyFileSync(installed, own)
      try {
        const ava = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')
        const timeout = `--timeout=${60 * Number(setup.env.INVOKE_TEST_TIME_SCALE ?? 1)}s`
        execFileSync(setup.suite.node, [ava, timeout, ...setup.suite.files], { cwd: root, env: { ...process.env, ...setup.env }, stdio: 'inherit' })
      } finally {
        fs.rmSync(own)
      }
    })
  }

  fs.rmSync(app, { recursive: true, force: true })
  console.log(`platform-user ${platform}: ${passed} passed, ${failed} failed`)
  process.exitCode = failed === 0 ? 0 : 1
}

main()
