'use strict'

const test = require('ava')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const invoke = require('..')
const { isAlive, waitFor } = require('./helpers/processes')
const { nativeTest } = require('./helpers/emulation')
const { unixTest } = require('./helpers/platform')

const fixture = (name) => path.join(__dirname, 'fixtures', name)

/** Runs `command` to its end, resolving with its stdout; `onLine` hears each line as it comes. */
function run(command, args, { detached = false, onLine = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { detached, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (chunk) => {
      const lines = (stdout + chunk).split('\n')
      for (const line of lines.slice(stdout.split('\n').length - 1, -1)) onLine(line, child)
      stdout += chunk
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, pid: child.pid }))
  })
}

const groupTest = process.platform === 'win32' ? unixTest('there are no process groups (a job object holds a worker\'s processes) and no /proc') : nativeTest("/proc/self/stat's process group")
groupTest('workers lead process groups of their own', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const mod = await invoke.require('./fixtures/process-group', { pool })
  const pid = await mod.groupOf()
  t.not(pid, Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[2]))
})

unixTest('there are no process groups to send SIGINT to (a console sends Ctrl-C its own way)')("Ctrl-C (SIGINT to the parent's group) is the parent's: its graceful close finishes the calls, nothing is retried", async (t) => {
  t.timeout(scaled(30000))
  const release = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-sigint-')), 'release')
  t.teardown(() => fs.rmSync(path.dirname(release), { recursive: true, force: true }))
  const outcome = await run(process.execPath, [fixture('sigint-parent.js'), release], {
    // A group of its own, like a shell job: the test sends the terminal's SIGINT to that group.
    detached: true,
    onLine: (line, child) => line === 'ready' && process.kill(-child.pid, 'SIGINT'),
  })
  t.is(outcome.code, 0, outcome.stdout)
  const report = JSON.parse(outcome.stdout.trim().split('\n').pop())
  t.is(report.retried, 0)
  t.deepEqual(report.reports, [])
  t.is(report.results.length, 2)
  t.true(report.results.every((r) => typeof r.pid === 'number'), JSON.stringify(report.results))
})

unixTest('a forced close ends the worker only there (TerminateProcess, no process group), as the README\'s Drivers table says')('a forced close ends what a worker module started (its whole process group)', async (t) => {
  t.timeout(scaled(20000))
  const pool = invoke.pool({ limit: 1 })
  const mod = await invoke.require('./fixtures/process-group', { pool })
  const grandchild = await mod.startGrandchild()
  t.teardown(() => isAlive(grandchild) && process.kill(grandchild, 'SIGKILL'))
  t.true(isAlive(grandchild))
  await pool.close({ force: true })
  await waitFor(() => !isAlive(grandchild), 10000, 'the grandchild to be killed')
  t.pass()
})

unixTest('descriptors are not inherited by number there, and it reads /proc and runs bash')("descriptors the parent inherited without close-on-exec do not reach its workers", async (t) => {
  t.timeout(scaled(30000))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fds-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const marker = path.join(dir, 'inherited')
  fs.writeFileSync(marker, '')
  const script = `
    const invoke = require(${JSON.stringify(path.join(__dirname, '..'))})
    const fs = require('node:fs')
    const parent = fs.readlinkSync('/proc/self/fd/40')
    invoke.require(${JSON.stringify(fixture('process-group.js'))}, { pool: invoke.pool({ limit: 1 }) })
      .then((mod) => mod.openFiles())
      .then((files) => { console.log(JSON.stringify({ parent, files })); process.exit(0) })`
  // What a shell's \`exec 40<>file\` leaves a program it starts: descriptor 40, not close-on-exec.
  const outcome = await run('bash', ['-c', `exec 40<>"$0"; exec "$1" -e "$2"`, marker, process.execPath, script])
  t.is(outcome.code, 0, outcome.stdout)
  const { parent, files } = JSON.parse(outcome.stdout.trim().split('\n').pop())
  t.is(parent, marker, 'the parent holds the descriptor')
  t.false(Object.values(files).includes(marker), JSON.stringify(files))
  t.false('40' in files)
  for (const fd of ['0', '1', '2', '3', '4']) t.true(fd in files, `the worker holds fd ${fd}`)
})
