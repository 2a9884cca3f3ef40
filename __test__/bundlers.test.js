'use strict'
// A parent bundled with the real esbuild: the bundle finds the package's worker program and addon
// where its code would require the package from, or fails at once, saying what to mark external.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const esbuild = require('esbuild')
const { scratchDir } = require('./helpers/pools')
const { runNode } = require('./helpers/processes')
const { execFile } = require('node:child_process')
const { exampleProject } = require('./helpers/readme-examples')
const { testWhere, linkFolder, cannotLinkFolders } = require('./helpers/platform')

const ROOT = path.join(__dirname, '..')

/** null where esbuild runs (npm installed its binary for this platform) and a project can link the package. */
function cannotBundle() {
  try {
    esbuild.transformSync('')
  } catch (error) {
    return `the esbuild installed here cannot run on ${process.platform}-${process.arch} (${error.message.trim().split('\n')[0]})`
  }
  return cannotLinkFolders()
}
const bundleTest = testWhere(cannotBundle())

const APP = `
const invoke = require('invoke-parallel')
async function main() {
  const greeter = await invoke.require('./greeter.js')
  console.log(await greeter.hello('bundle'))
  await invoke.globalPool().close()
}
main()
`
const APP_ESM = `
import invoke from 'invoke-parallel'
const greeter = await invoke.require('./greeter.js')
console.log(await greeter.hello('bundle'))
await invoke.globalPool().close()
`
const GREETER = `exports.hello = (name) => 'hello ' + name + ' from ' + process.pid\n`

/** A project with invoke-parallel installed (a link to this checkout), bundled into dist/. */
function bundledProject(t, options) {
  const dir = scratchDir(t, 'esbuild')
  fs.mkdirSync(path.join(dir, 'node_modules'))
  linkFolder(ROOT, path.join(dir, 'node_modules', 'invoke-parallel'))
  const entry = options.format === 'esm' ? 'app.mjs' : 'app.js'
  fs.writeFileSync(path.join(dir, entry), options.format === 'esm' ? APP_ESM : APP)
  fs.mkdirSync(path.join(dir, 'dist'))
  // Worker modules are loaded by path in the workers, so they ship next to the bundle.
  fs.writeFileSync(path.join(dir, 'dist', 'greeter.js'), GREETER)
  const outfile = path.join(dir, 'dist', options.format === 'esm' ? 'app.mjs' : 'app.js')
  esbuild.buildSync({ entryPoints: [path.join(dir, entry)], bundle: true, platform: 'node', outfile, logLevel: 'silent', ...options })
  return { dir, outfile }
}

bundleTest('esbuild --bundle: the bundle runs its calls with the package installed beside it', async (t) => {
  const { outfile } = bundledProject(t, {})
  const text = fs.readFileSync(outfile, 'utf8')
  t.true(text.includes('ERR_INVOKE_POOL_CLOSED'), 'the package JS is inside the bundle')
  const run = await runNode([outfile])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /^hello bundle from \d+\n$/)
})

bundleTest('esbuild --bundle: without the package to find, loading fails at once with ERR_INVOKE_BUNDLED', async (t) => {
  const { outfile } = bundledProject(t, {})
  const alone = scratchDir(t, 'esbuild-alone')
  const moved = path.join(alone, 'app.js')
  fs.copyFileSync(outfile, moved)
  const run = await runNode(['-e', `try { require(${JSON.stringify(moved)}) } catch (e) { console.log(e.code); console.log(e.message) }`])
  t.is(run.code, 0, run.stderr)
  const [code, message] = run.stdout.split('\n')
  t.is(code, 'ERR_INVOKE_BUNDLED')
  t.true(message.includes('--external:invoke-parallel'), message)
  t.notRegex(run.stderr, /MODULE_NOT_FOUND|ERR_INVOKE_WORKER_START/)
})

bundleTest('esbuild --bundle --external:invoke-parallel, as CommonJS and as an ES module', async (t) => {
  for (const format of ['cjs', 'esm']) {
    const { outfile } = bundledProject(t, { format, external: ['invoke-parallel'] })
    t.false(fs.readFileSync(outfile, 'utf8').includes('ERR_INVOKE_POOL_CLOSED'), format)
    const run = await runNode([outfile])
    t.is(run.code, 0, run.stderr)
    t.regex(run.stdout, /^hello bundle from \d+\n$/, format)
  }
})

bundleTest("the README's esbuild example runs as pasted: bundled, and with the package external", async (t) => {
  const { dir } = exampleProject(t, 'esbuild', ['esbuild'])
  const run = await new Promise((resolve) => {
    execFile('bash', ['-e', 'build.sh'], { cwd: dir, timeout: 120000 }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }),
    )
  })
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, 'hello bundle\nhello bundle\n')
})

bundleTest('esbuild --bundle: another version installed beside the bundle is refused with ERR_INVOKE_BUNDLED, not used', async (t) => {
  const { dir, outfile } = bundledProject(t, {})
  // Replace the link with an install of another version.
  const installed = path.join(dir, 'node_modules', 'invoke-parallel')
  fs.unlinkSync(installed)
  fs.mkdirSync(path.join(installed, 'lib', 'worker'), { recursive: true })
  fs.writeFileSync(path.join(installed, 'package.json'), JSON.stringify({ name: 'invoke-parallel', version: '0.0.1' }))
  fs.writeFileSync(path.join(installed, 'lib', 'worker', 'main.js'), 'process.exit(1)\n')
  const run = await runNode([outfile])
  t.not(run.code, 0)
  t.regex(run.stderr, /ERR_INVOKE_BUNDLED/)
  t.true(run.stderr.includes(`invoke-parallel 0.0.1, not ${require('../package.json').version}`), run.stderr)
})

const BUNDLED_WORKER = `
const { signal, set, info } = require('invoke-parallel/worker')
// A call's signal and the worker's identity, read through this bundle's own copy of the package.
exports.whoAsks = () => ({ signalled: signal() instanceof AbortSignal, workerId: info()?.workerId })
// A socket handed back with set(), made by this copy: the worker program must recognise it.
exports.handBack = (socket) => set(socket, { keepOpen: false })
`
const BUNDLED_PARENT = `
const net = require('node:net')
const invoke = require('invoke-parallel')
async function main() {
  const worker = await invoke.require('./worker.js')
  const asked = await worker({ cancelToken: invoke.cancelToken() }).whoAsks()
  const server = net.createServer({ pauseOnConnect: true })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise((resolve) => server.once('connection', resolve))
  const client = net.connect(server.address().port, '127.0.0.1')
  const back = await worker.handBack(await accepted)
  const heard = new Promise((resolve) => client.once('data', (data) => resolve(String(data))))
  back.end('through the worker and back')
  console.log(JSON.stringify({ asked, back: back instanceof net.Socket, heard: await heard }))
  client.destroy()
  server.close()
  await invoke.globalPool().close()
}
main()
`

bundleTest('a worker module bundled on its own: signal(), info() and set() through its own copy of the package', async (t) => {
  const dir = scratchDir(t, 'esbuild-worker')
  fs.mkdirSync(path.join(dir, 'node_modules'))
  linkFolder(ROOT, path.join(dir, 'node_modules', 'invoke-parallel'))
  fs.writeFileSync(path.join(dir, 'worker.js'), BUNDLED_WORKER)
  fs.writeFileSync(path.join(dir, 'app.js'), BUNDLED_PARENT)
  esbuild.buildSync({
    entryPoints: [path.join(dir, 'app.js'), path.join(dir, 'worker.js')],
    bundle: true,
    platform: 'node',
    outdir: path.join(dir, 'dist'),
    logLevel: 'silent',
  })
  t.true(fs.readFileSync(path.join(dir, 'dist', 'worker.js'), 'utf8').includes('invoke-parallel.callContext'))
  const run = await runNode([path.join(dir, 'dist', 'app.js')])
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), {
    asked: { signalled: true, workerId: 1 },
    back: true,
    heard: 'through the worker and back',
  })
})

const BUNDLED_ESM_WORKER = `
import { signal, set, info } from 'invoke-parallel/worker'
export const whoAsks = () => ({ signalled: signal() instanceof AbortSignal, workerId: info()?.workerId })
export const handBack = (socket) => set(socket, { keepOpen: false })
`

bundleTest('a worker ES module bundled on its own (--format=esm): signal(), info() and set() through its own copy', async (t) => {
  const dir = scratchDir(t, 'esbuild-esm-worker')
  fs.mkdirSync(path.join(dir, 'node_modules'))
  linkFolder(ROOT, path.join(dir, 'node_modules', 'invoke-parallel'))
  fs.writeFileSync(path.join(dir, 'worker.mjs'), BUNDLED_ESM_WORKER)
  fs.mkdirSync(path.join(dir, 'dist'))
  // The parent as is (the package installed beside it), the worker bundled with its copy inside.
  fs.writeFileSync(path.join(dir, 'dist', 'app.js'), BUNDLED_PARENT.replace("'./worker.js'", "'./worker.mjs'"))
  esbuild.buildSync({
    entryPoints: [path.join(dir, 'worker.mjs')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: path.join(dir, 'dist', 'worker.mjs'),
    logLevel: 'silent',
  })
  const run = await runNode([path.join(dir, 'dist', 'app.js')])
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), {
    asked: { signalled: true, workerId: 1 },
    back: true,
    heard: 'through the worker and back',
  })
})

bundleTest('esbuild --bundle --format=esm: the bundle runs its calls with the package installed beside it', async (t) => {
  const { outfile } = bundledProject(t, { format: 'esm' })
  const run = await runNode([outfile])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /^hello bundle from \d+\n$/)
})

bundleTest('esbuild --bundle --format=esm: without the package to find, loading fails at once with ERR_INVOKE_BUNDLED', async (t) => {
  const { outfile } = bundledProject(t, { format: 'esm' })
  const alone = scratchDir(t, 'esbuild-esm-alone')
  const moved = path.join(alone, 'app.mjs')
  fs.copyFileSync(outfile, moved)
  // A file named like the package's own entry beside the bundle is not taken for it.
  fs.writeFileSync(path.join(alone, 'index.js'), 'throw new Error("not the package")\n')
  const url = require('node:url').pathToFileURL(moved).href
  const run = await runNode(['--input-type=module', '-e', `try { await import(${JSON.stringify(url)}) } catch (e) { console.log(e.code); console.log(e.message) }`])
  t.is(run.code, 0, run.stderr)
  const [code, message] = run.stdout.split('\n')
  t.is(code, 'ERR_INVOKE_BUNDLED')
  t.true(message.includes('--external:invoke-parallel'), message)
  t.notRegex(run.stderr, /MODULE_NOT_FOUND|ERR_INVOKE_WORKER_START|not the package/)
})

bundleTest('esbuild --bundle --format=esm: a worker module bundled with invoke-parallel/worker inside it', async (t) => {
  const dir = scratchDir(t, 'esbuild-esm-worker')
  fs.mkdirSync(path.join(dir, 'node_modules'))
  linkFolder(ROOT, path.join(dir, 'node_modules', 'invoke-parallel'))
  fs.writeFileSync(
    path.join(dir, 'worker.mjs'),
    "import { signal, info } from 'invoke-parallel/worker'\nexport const whoAsks = () => ({ signalled: signal() instanceof AbortSignal, workerId: info()?.workerId })\n",
  )
  fs.writeFileSync(
    path.join(dir, 'app.mjs'),
    "import invoke from 'invoke-parallel'\nconst worker = await invoke.require('./worker.mjs')\nconsole.log(JSON.stringify(await worker({ cancelToken: invoke.cancelToken() }).whoAsks()))\nawait invoke.globalPool().close()\n",
  )
  esbuild.buildSync({
    entryPoints: [path.join(dir, 'app.mjs'), path.join(dir, 'worker.mjs')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outdir: path.join(dir, 'dist'),
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
  })
  const run = await runNode([path.join(dir, 'dist', 'app.mjs')])
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { signalled: true, workerId: 1 })
})
