'use strict'
// `npm run release:pack`: writes into dist/ the tarballs a release publishes, following napi-rs's
// layout: one package per target in `napi.targets` (from `npm/<platform>/`, holding the stripped
// addon; glibc targets linked against glibc 2.17) and the main package, whose optionalDependencies
// pin all of them to the same version so that npm installs the one that fits the user's platform.
// `--targets=<triple>,...` (or INVOKE_RELEASE_TARGETS) builds only those platform packages, for
// tests; the main package still names every target (npm skips an optional dependency it cannot
// find). How each target is built here: scripts/cross-toolchain.js.
// It also packs the BullMQ adapter (packages/bullmq) and the OpenTelemetry package (packages/otel),
// published the same way.
// Publishing them is `npm publish <tarball>`, by hand (README, Development).

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { crossToolchain } = require('./cross-toolchain')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const dist = path.join(root, 'dist')
// Its own cargo target dir, so the release build and the development build never rebuild each other.
const work = path.join(root, 'target', 'release-cross')
const napiCli = require.resolve('@napi-rs/cli/package.json').replace(/package\.json$/, 'dist/cli.js')

/** Rust target triple -> napi-rs's platform name (the `npm/` folder and package suffix). */
const PLATFORMS = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-gnu': 'win32-x64-gnu',
}

/**
 * Fields a platform package shares with the main package. Not `engines`: npm (and pnpm) leave out
 * an optional dependency whose engines do not match the running Node, silently and even with
 * --force, so on a Node below the main package's range the install would warn about the main
 * package and then lack the binary. The main package's `engines` is the one that warns.
 */
const SHARED_FIELDS = ['version', 'description', 'author', 'license', 'homepage', 'repository', 'bugs']

function run(command, args, options = {}) {
  return execFileSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...options })
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
}

/** `npm pack` of a staged folder into dist/; returns what npm reports of the tarball. */
function pack(dir) {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dist], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [{ filename, size, unpackedSize, entryCount }] = JSON.parse(out)
  return { filename, size, unpackedSize, entryCount }
}

/** Builds the addon for `triple` and stages its platform package; returns the package's name. */
function stagePlatformPackage(triple, stage) {
  const platform = PLATFORMS[triple]
  if (!platform) throw new Error(`napi.targets lists ${triple}, which this script cannot build`)
  const { env, strip, napiArgs } = crossToolchain(triple, work)
  const out = path.join(work, 'out', platform)
  fs.rmSync(out, { recursive: true, force: true })
  // The declarations are the same for every target: the host build's binding.d.ts is the one kept.
  const flags = ['--platform', '--release', '--no-js', '--dts', path.join(out, 'binding.d.ts'), ...napiArgs]
  const started = Date.now()
  // Build scripts and proc macros are compiled for the host by whichever rustc builds the target:
  // one target dir per rustc, or each switch between them rebuilds them all.
  const targetDir = env.RUSTC ? work : path.join(work, 'rustup')
  run(process.execPath, [napiCli, 'build', ...flags, '--target', triple, '--target-dir', targetDir, '--output-dir', out], {
    env: { ...process.env, ...env },
  })
  console.log(`release:pack: built ${platform} in ${((Date.now() - started) / 1000).toFixed(0)} s`)

  const dir = path.join(stage, platform)
  fs.cpSync(path.join(root, 'npm', platform), dir, { recursive: true })
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'))
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  for (const field of SHARED_FIELDS) if (pkg[field] !== undefined) manifest[field] = pkg[field]
  delete manifest.engines
  writeJson(path.join(dir, 'package.json'), manifest)
  const binary = `${pkg.napi.binaryName}.${platform}.node`
  if (manifest.main !== binary) throw new Error(`npm/${platform}/package.json: main should be ${binary}`)
  fs.copyFileSync(path.join(out, binary), path.join(dir, binary))
  run(strip[0], [...strip.slice(1), path.join(dir, binary)])
  console.log(`release:pack: ${platform}: ${binary} ${fs.statSync(path.join(dir, binary)).size} bytes stripped`)
  return manifest.name
}

/** Stages the main package: what `files` lists, minus any development build of the addon. */
function stageMainPackage(stage) {
  const dir = path.join(stage, 'main')
  fs.mkdirSync(dir, { recursive: true })
  for (const entry of [...pkg.files, 'README.md', 'LICENSE']) {
    if (entry.includes('*')) continue
    fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true })
  }
  const manifest = { ...pkg }
  // A registry install runs no script of ours (prepare is the clone's source build); the
  // development dependencies are the clone's.
  delete manifest.scripts
  delete manifest.devDependencies
  delete manifest.ava
  delete manifest.workspaces
  manifest.optionalDependencies = Object.fromEntries(
    pkg.napi.targets.map((triple) => [`${pkg.name}-${PLATFORMS[triple]}`, pkg.version]),
  )
  writeJson(path.join(dir, 'package.json'), manifest)
  return dir
}

/** Stages a package of `packages/` (`folder`) with the project's LICENSE. */
function stageAdapter(stage, folder) {
  const dir = path.join(stage, folder)
  const source = path.join(root, 'packages', folder)
  const manifest = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8'))
  fs.mkdirSync(dir, { recursive: true })
  for (const entry of [...manifest.files, 'package.json', 'README.md']) {
    fs.cpSync(path.join(source, entry), path.join(dir, entry), { recursive: true })
  }
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'))
  return dir
}

/** The targets to build: `--targets=a,b`, else INVOKE_RELEASE_TARGETS, else all of napi.targets. */
function chosenTargets() {
  const given = process.argv.find((arg) => arg.startsWith('--targets='))?.slice('--targets='.length) ?? process.env.INVOKE_RELEASE_TARGETS
  if (!given) return pkg.napi.targets
  const targets = given.split(',').filter(Boolean)
  const unknown = targets.filter((triple) => !pkg.napi.targets.includes(triple))
  if (unknown.length > 0) throw new Error(`not in napi.targets: ${unknown.join(', ')} (napi.targets: ${pkg.napi.targets.join(', ')})`)
  return targets
}

function main() {
  const targets = chosenTargets()
  const stage = path.join(work, 'stage')
  fs.rmSync(stage, { recursive: true, force: true })
  fs.mkdirSync(dist, { recursive: true })
  // Tarballs of an earlier run would be taken for this one's.
  for (const file of fs.readdirSync(dist)) if (file.endsWith('.tgz')) fs.rmSync(path.join(dist, file))
  const platformPackages = targets.map((triple) => stagePlatformPackage(triple, stage))
  const packed = platformPackages.map((name) => pack(path.join(stage, name.slice(pkg.name.length + 1))))
  packed.push(pack(stageMainPackage(stage)))
  packed.push(pack(stageAdapter(stage, 'bullmq')), pack(stageAdapter(stage, 'otel')))
  for (const { filename, size, unpackedSize, entryCount } of packed) {
    console.log(`dist/${filename}: ${size} bytes packed, ${unpackedSize} unpacked, ${entryCount} files`)
  }
}

main()
