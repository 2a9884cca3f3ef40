'use strict'
// The remote pool (invoke-parallel-bullmq, one local Redis, hosts on this machine) against a
// local pool of as many workers, in the same run, interleaved round by round:
//   - latency p50/p99 of one small call at a time, and calls/s with 256 in flight (also with a
//     host that takes 64 jobs at once: its default is one a worker);
//   - 200 CPU-bound tasks of 1, 5, 20 and 100 ms: the queue's overhead in wall time;
//   - a host SIGKILLed halfway through 200 tasks of 20 ms: duplicate runs, and the time from the
//     kill until its jobs were taken again and until all 200 were done.
//
//   node bench/remote.js            full run (about two minutes on an idle machine)
//   node bench/remote.js --quick    short run

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { throughput, latency, median, percentile } = require('./measure')

const FULL = { rounds: 5, sampleMs: 1000, taskRounds: 3 }
const QUICK = { rounds: 2, sampleMs: 300, taskRounds: 1 }
const config = process.argv.includes('--quick') ? QUICK : FULL
const LIMIT = 2
const TASK_MS = [1, 5, 20, 100]
const TASKS = 200

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-remote-'))
const socket = path.join(dir, 'redis.sock')

function start(command, args, ready, env = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  child.exited = new Promise((resolve) => child.once('exit', resolve))
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk) => {
      out += chunk
      if (!ready.test(out)) return
      child.stdout.off('data', onData)
      child.stdout.resume()
      resolve(child)
    }
    child.stdout.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}):\n${out}`)))
  })
}

const startHost = (queue, name, concurrency = '') =>
  start(process.execPath, [path.join(__dirname, 'remote-host.js'), queue, socket, String(LIMIT), concurrency], /ready/, {
    HOST_NAME: name,
  })

async function runTasks(mod, ms, method = 'spin', extra = []) {
  const t = performance.now()
  const results = await Promise.all(Array.from({ length: TASKS }, () => mod[method](ms, ...extra)))
  return { wall: performance.now() - t, results }
}

const small = (i) => ({ i, s: 'hello' })
const same = (r, a) => r !== null && typeof r === 'object' && r.i === a.i

async function main() {
  const redis = await start('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--dir', dir], /ready to accept connections/i)
  const local = invoke.pool({ limit: LIMIT, minimum: LIMIT })
  const host = await startHost('bench', 'host-a')
  const wide = await startHost('bench-wide', 'host-wide', '64')
  const remote = remotePool({ queue: 'bench', connection: { path: socket }, root: __dirname })
  const remoteWide = remotePool({ queue: 'bench-wide', connection: { path: socket }, root: __dirname })
  const file = path.join(__dirname, 'remote-worker.js')
  const mods = {
    local: await invoke.require(file, { pool: local }),
    remote: await invoke.require(file, { pool: remote }),
    wide: await invoke.require(file, { pool: remoteWide }),
  }
  const contender = (label) => ({ label, call: (arg) => mods[label].echo(arg) })
  const lat = { local: [], remote: [] }
  const tput = { local: [], remote: [], wide: [] }
  for (let round = 0; round < config.rounds; round++) {
    for (const label of round % 2 ? ['remote', 'local'] : ['local', 'remote']) {
      const samples = await latency(contender(label), small, same, config.sampleMs)
      lat[label].push({ p50: percentile(samples, 50), p99: percentile(samples, 99) })
      tput[label].push(await throughput(contender(label), small, same, 256, config.sampleMs))
    }
    tput.wide.push(await throughput(contender('wide'), small, same, 256, config.sampleMs))
  }
  const report = {}
  for (const label of ['local', 'remote']) {
    report[label] = {
      p50: median(lat[label].map((s) => s.p50)),
      p99: median(lat[label].map((s) => s.p99)),
      perSecond: median(tput[label]),
    }
  }
  console.log(`machine: ${os.cpus().length} CPUs, ${os.cpus()[0].model}; ${LIMIT} workers local, one host of ${LIMIT} workers remote`)
  console.log('| | local | remote | remote / local |\n| --- | ---: | ---: | ---: |')
  const row = (name, key, unit, digits = 0) =>
    console.log(`| ${name} | ${report.local[key].toFixed(digits)} ${unit} | ${report.remote[key].toFixed(digits)} ${unit} | ${(report.remote[key] / report.local[key]).toFixed(2)} |`)
  row('latency p50', 'p50', 'µs')
  row('latency p99', 'p99', 'µs')
  row('calls/s, 256 in flight', 'perSecond', '/s')
  const wideRate = median(tput.wide)
  console.log(`| calls/s, 256 in flight, host concurrency 64 | | ${wideRate.toFixed(0)} /s | ${(wideRate / report.local.perSecond).toFixed(3)} |`)

  console.log(`\n| ${TASKS} tasks of | local | remote | overhead |\n| --- | ---: | ---: | ---: |`)
  for (const ms of TASK_MS) {
    const walls = { local: [], remote: [] }
    for (let round = 0; round < config.taskRounds; round++) {
      for (const label of round % 2 ? ['remote', 'local'] : ['local', 'remote']) walls[label].push((await runTasks(mods[label], ms)).wall)
    }
    const l = median(walls.local)
    const r = median(walls.remote)
    console.log(`| ${ms} ms | ${l.toFixed(0)} ms | ${r.toFixed(0)} ms | ${(((r - l) / l) * 100).toFixed(1)} % |`)
  }

  // A second host, then the first one killed halfway.
  const second = await startHost('bench', 'host-b')
  const runs = path.join(dir, 'runs')
  fs.writeFileSync(runs, '')
  let done = 0
  let killedAt = 0
  let takenAgain = 0
  const t = performance.now()
  const tasks = Array.from({ length: TASKS }, () =>
    mods.remote.counted(20, runs).then(() => {
      if (++done === TASKS / 2) {
        killedAt = performance.now()
        host.kill('SIGKILL')
      }
    }),
  )
  const watch = setInterval(() => {
    if (killedAt && !takenAgain && remote.stats().retried > 0) takenAgain = performance.now()
  }, 5)
  await Promise.all(tasks)
  clearInterval(watch)
  const end = performance.now()
  const ran = fs.readFileSync(runs, 'utf8').length
  console.log(`\nhost killed after ${TASKS / 2} of ${TASKS} tasks of 20 ms (lockDuration 1000 ms, stalledInterval 250 ms):`)
  console.log(`  runs ${ran} for ${TASKS} tasks (${ran - TASKS} duplicate), jobs re-run: ${remote.stats().retried}`)
  console.log(`  kill -> its jobs taken again: ${takenAgain ? (takenAgain - killedAt).toFixed(0) : '?'} ms; kill -> all done: ${(end - killedAt).toFixed(0)} ms (whole batch ${(end - t).toFixed(0)} ms)`)

  await remote.close()
  await remoteWide.close()
  await local.close()
  wide.kill('SIGTERM')
  await wide.exited
  second.kill('SIGTERM')
  await second.exited
  redis.kill('SIGTERM')
  await redis.exited
  fs.rmSync(dir, { recursive: true, force: true })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
