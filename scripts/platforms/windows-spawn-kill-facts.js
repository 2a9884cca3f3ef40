'use strict'
// Why a worker can outlive its parent under wine: a parent killed while it starts children. Under
// wine, with each Windows node.exe given (default: the 22 and 24 under $TOOLCHAINS/node), a plain
// Node parent (no invoke-parallel) starts three children with child_process.spawn and is killed
// at a random moment of that; the probe counts the kills after which a child still held the
// parent's stdout 3 s later (and those whose exit did not come within 15 s), and prints how long
// each spawn() took. Then, from Linux, it lists those children (their threads: 1 is a process
// that never ran) and kills them.
//
// libuv's uv_spawn on Windows creates the child suspended, then adds it to its job object (which
// ends the child with the parent) and resumes it. A parent killed between the two leaves the child
// created, never run, in no job, holding what it inherited for good.
//
//   node scripts/platforms/windows-spawn-kill-facts.js [node.exe ...]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { wineNode } = require('./wine-node')

const KILLS = 20
// Names the children in their command line, for finding them from Linux afterwards.
const MARK = `spawn-kill-facts-${process.pid}`

const PARENT = `
const { spawn } = require('node:child_process')
const took = []
for (let i = 0; i < 3; i++) {
  const start = process.hrtime.bigint()
  spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000) // ${MARK}'], { stdio: ['ignore', 'inherit', 'inherit'] })
  took.push(Math.round(Number(process.hrtime.bigint() - start) / 1e6))
}
process.stderr.write(JSON.stringify(took))
setInterval(() => {}, 1000)
`

const PROBE = `
const { spawn } = require('node:child_process')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
async function main() {
  let held = 0
  let noExit = 0
  const took = []
  for (let i = 0; i < ${KILLS}; i++) {
    const parent = spawn(process.execPath, ['parent.js'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let closed = false
    let printed = ''
    parent.stdout.on('close', () => { closed = true })
    parent.stdout.resume()
    parent.stderr.on('data', (chunk) => { printed += chunk })
    await sleep(150 + Math.floor(Math.random() * 900))
    parent.kill()
    const exited = await Promise.race([new Promise((resolve) => parent.on('exit', () => resolve(true))), sleep(15000)])
    if (!exited) noExit++
    await sleep(3000)
    if (!closed) held++
    try {
      took.push(...JSON.parse(printed))
    } catch {}
  }
  console.log(JSON.stringify({ node: process.version, kills: ${KILLS}, held, noExit, spawnMs: took }))
  // The pipes the children left behind hold are still read: they would keep this process alive.
  process.exit(0)
}
main()
`

function defaultNodes() {
  const root = path.join(process.env.TOOLCHAINS || '/work/toolchains', 'node')
  if (!fs.existsSync(root)) return []
  return fs
    .readdirSync(root)
    .filter((name) => /^win-x64-(22|24)\./.test(name))
    .map((name) => path.join(root, name, 'bin', 'node.exe'))
    .filter((exe) => fs.existsSync(exe))
}

/** The children left running, as Linux sees them: [{ pid, threads }]. */
function leftBehind() {
  const listed = execFileSync('ps', ['-eo', 'pid=,nlwp=,args='], { encoding: 'utf8' })
  return listed
    .split('\n')
    .filter((line) => line.includes(MARK) && line.includes('setInterval'))
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, threads]) => ({ pid: Number(pid), threads: Number(threads) }))
}

const nodes = process.argv.length > 2 ? process.argv.slice(2) : defaultNodes()
if (nodes.length === 0) {
  console.error('no Windows node.exe given or found under $TOOLCHAINS/node')
  process.exit(1)
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-spawn-kill-'))
try {
  fs.writeFileSync(path.join(dir, 'parent.js'), PARENT)
  fs.writeFileSync(path.join(dir, 'probe.js'), PROBE)
  for (const node of nodes) {
    const printed = wineNode(node, ['probe.js'], { cwd: dir, timeout: 10 * 60 * 1000 })
    console.log(printed.split('\n').find((line) => line.startsWith('{')) ?? `${node}: ${printed.trim()}`)
    const left = leftBehind()
    console.log(`  left running: ${left.length}, with 1 thread (never ran): ${left.filter((p) => p.threads === 1).length}`)
    for (const { pid } of left) process.kill(pid, 'SIGKILL')
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
