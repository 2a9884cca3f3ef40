'use strict'
// The last step of `npm test`: invoke-parallel as a registry user gets it. The release tarballs
// (`npm run release:pack`) are installed into a new project in a temporary folder, offline, with
// an empty npm cache (so nothing can come from the registry) and a PATH without cargo or rustc
// (so no install step can build anything); the README's first examples run there as CommonJS,
// as ESM and, type-checked by tsc under `tsc --init`'s settings, as TypeScript in a CommonJS and
// in an ES module project. Then the binary's glibc symbol versions, the error a user sees without
// the platform package, and the types of the packed tarball (attw).

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { readmeExamples, runExample: runWith } = require('./readme-examples')
const { pathWithoutRust } = require('./path-without-rust')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const dist = path.join(root, 'dist')
const GLIBC_BASELINE = [2, 17]

const npmCli = process.env.npm_execpath || fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const attw = path.join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js')

/** The highest `GLIBC_x.y` version an ELF file needs, from `objdump -T` (binutils). */
function highestGlibc(file) {
  const versions = [...execFileSync('objdump', ['-T', file], { encoding: 'utf8' }).matchAll(/\bGLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)]
    .map((match) => match.slice(1).map((part) => Number(part ?? 0)))
    .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
  assert.ok(versions.length > 0, `${file} names no GLIBC_ symbol version`)
  return versions.at(-1)
}

const checks = []
function check(name, fn) {
  checks.push({ name, fn })
}

let app
let env
const cleanups = []

check('release:pack writes the tarballs', () => {
  // Only this machine's own platform unless CI asks for more (each other target takes minutes).
  const targets = process.env.INVOKE_RELEASE_TARGETS || 'x86_64-unknown-linux-gnu'
  execFileSync(process.execPath, [npmCli, 'run', 'release:pack'], { cwd: root, stdio: 'inherit', env: { ...process.env, INVOKE_RELEASE_TARGETS: targets } })
})

check('the tarballs install offline into a new project with no Rust on PATH', () => {
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-user-'))
  const bin = path.join(app, '.bin')
  fs.mkdirSync(bin)
  fs.symlinkSync(process.execPath, path.join(bin, 'node'))
  const noRust = pathWithoutRust([bin])
  cleanups.push(noRust.cleanup)
  env = { ...process.env, PATH: noRust.PATH, npm_config_cache: path.join(app, '.npm-cache') }
  for (const key of Object.keys(env)) if (/^npm_(?!config_cache$)/i.test(key)) delete env[key]
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'registry-user', private: true }))
  // The BullMQ adapter's and the OpenTelemetry package's tarballs need bullmq and
  // @opentelemetry/api from the registry: not part of this offline install.
  const adapters = ['bullmq', 'otel'].map((name) => `${pkg.name}-${name}-${pkg.version}.tgz`)
  for (const adapter of adapters) assert.ok(fs.existsSync(path.join(dist, adapter)), `release:pack writes ${adapter}`)
  // The main package and this platform's: what npm would fetch here from the registry.
  const tarballs = [`${pkg.name}-${pkg.version}.tgz`, `${pkg.name}-linux-x64-gnu-${pkg.version}.tgz`]
  for (const name of tarballs) assert.ok(fs.existsSync(path.join(dist, name)), `release:pack writes ${name}`)
  execFileSync(
    process.execPath,
    [npmCli, 'install', '--offline', '--no-audit', '--no-fund', ...tarballs.map((name) => path.join(dist, name))],
    { cwd: app, env, stdio: 'inherit' },
  )
  const installed = require(path.join(app, 'node_modules', pkg.name, 'package.json'))
  const keys = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-gnu']
  assert.deepEqual(installed.optionalDependencies, Object.fromEntries(keys.map((key) => [`${pkg.name}-${key}`, pkg.version])))
  assert.equal(installed.scripts, undefined, 'the published package runs no script at install')
  // The TypeScript projects' compiler and Node types, as a user's dev dependencies would be.
  fs.mkdirSync(path.join(app, 'node_modules', '@types'), { recursive: true })
  fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(app, 'node_modules', '@types', 'node'))
})

check("the README's first example runs as CommonJS and as an ES module", () => {
  const examples = readmeExamples()
  for (const variant of ['js', 'ts-esm', 'ts-cjs']) {
    const dir = path.join(app, variant)
    fs.mkdirSync(dir)
    const type = variant === 'ts-esm' ? 'module' : 'commonjs'
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: variant, private: true, type }))
  }
  for (const [file, code] of Object.entries(examples)) fs.writeFileSync(path.join(app, file), code)
  for (const file of ['js/hash.js', 'js/main.js', 'js/main.mjs', 'ts-esm/hash.ts', 'ts-esm/main.ts', 'ts-cjs/hash.ts', 'ts-cjs/main.ts']) {
    assert.ok(file in examples, `README has no <!-- example: ${file} --> block`)
  }
  for (const main of ['main.js', 'main.mjs']) runExample(path.join(app, 'js'), main)
})

check("the README's TypeScript example type-checks under tsc --init (CommonJS and nodenext ESM) and runs", () => {
  for (const variant of ['ts-cjs', 'ts-esm']) {
    const dir = path.join(app, variant)
    execFileSync(process.execPath, [tsc, '--init'], { cwd: dir, env, stdio: 'ignore' })
    execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, env, stdio: 'inherit' })
    runExample(dir, 'main.js')
  }
})

function runExample(dir, main) {
  runWith(process.execPath, dir, main, env)
}

check(`the installed binary is stripped and needs glibc <= ${GLIBC_BASELINE.join('.')}`, () => {
  const binary = path.join(app, 'node_modules', `${pkg.name}-linux-x64-gnu`, `${pkg.napi.binaryName}.linux-x64-gnu.node`)
  const [major, minor] = highestGlibc(binary)
  console.log(`registry-user: the binary needs GLIBC_${major}.${minor} at most`)
  assert.ok(major < GLIBC_BASELINE[0] || (major === GLIBC_BASELINE[0] && minor <= GLIBC_BASELINE[1]), `needs GLIBC_${major}.${minor}`)
  const sections = execFileSync('readelf', ['-S', '--wide', binary], { encoding: 'utf8' })
  assert.ok(!sections.includes('.symtab'), 'the binary still has a symbol table')
})

/** What `require('invoke-parallel')` throws in the user's project. */
function requireError() {
  const script = "try { require('invoke-parallel') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' }) || 'null')
}

check('a platform package of another version is refused, naming the version to install', () => {
  const manifestFile = path.join(app, 'node_modules', `${pkg.name}-linux-x64-gnu`, 'package.json')
  const manifest = fs.readFileSync(manifestFile, 'utf8')
  fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(manifest), version: '0.0.1' }))
  const error = requireError()
  fs.writeFileSync(manifestFile, manifest)
  assert.equal(error?.code, 'ERR_INVOKE_BINARY_VERSION')
  assert.ok(error.message.includes(`${pkg.name}-linux-x64-gnu@${pkg.version}`), error.message)
  assert.equal(requireError(), null, 'the right version loads again')
})

check('without the platform package, require names the platform and the package', () => {
  fs.rmSync(path.join(app, 'node_modules', `${pkg.name}-linux-x64-gnu`), { recursive: true })
  const { code, message } = requireError()
  assert.equal(code, 'ERR_INVOKE_BINARY_MISSING')
  for (const part of ['linux x64 (glibc)', `${pkg.name}-linux-x64-gnu`, 'build it from source']) {
    assert.ok(message.includes(part), `the message lacks "${part}": ${message}`)
  }
  console.log(`registry-user: ${message}`)
})

check('the packed types resolve under node10, node16 (CJS and ESM) and bundler (attw)', () => {
  execFileSync(process.execPath, [attw, path.join(dist, `${pkg.name}-${pkg.version}.tgz`), '--no-color', '--no-emoji'], {
    stdio: 'inherit',
  })
})

let passed = 0
let failed = 0
for (const { name, fn } of checks) {
  try {
    fn()
    passed++
    console.log(`registry-user: ✔ ${name}`)
  } catch (error) {
    failed++
    console.error(`registry-user: ✘ ${name}\n`, error)
    break
  }
}
if (app) fs.rmSync(app, { recursive: true, force: true })
for (const cleanup of cleanups) cleanup()
console.log(`registry-user: ${passed} passed, ${failed} failed`)
process.exitCode = failed === 0 && passed === checks.length ? 0 : 1
