'use strict'
// Runs scripts/platforms/windows-suite.js under wine and holds each test file to its deadline from
// outside wine: a hung file cannot take the run past its time. windows-suite.js names each file
// it is running in OUT/<file>.running (the Windows pid of its ava); a file still named there
// FILE_DEADLINE_MS after it started is ended with its process tree (`taskkill /T /F`, by another
// wine command) and fails with a line in its TAP; if it still runs a minute after that, or the
// whole run outlives its own limit, every wine process of the run is killed (its Linux process
// group: wine double-forks its processes, and they keep the group of the command that started
// them; the wineserver, shared with other wine commands, has a session of its own).
//
// The deadline was a timer inside windows-suite.js, a node.exe under the wine it is meant to
// guard, a process a stray kill can end with its timers (a test that kills pids it saw once killed
// others' processes under wine, which reuses pids within seconds): in one run (Node 22.23.3, two
// files hung for 18 min) it never ended them.

const fs = require('node:fs')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')

// INVOKE_WINDOWS_FILE_DEADLINE (ms) overrides it (a shorter one shows the deadline at work).
const FILE_DEADLINE_MS = Number(process.env.INVOKE_WINDOWS_FILE_DEADLINE) > 0 ? Number(process.env.INVOKE_WINDOWS_FILE_DEADLINE) : 12 * 60 * 1000
/** What a file's process tree gets to end once taskkill was run on it, and taskkill itself. */
const AFTER_KILL_MS = 60 * 1000
const LOOK_EVERY_MS = 2000

/** The files OUT names as running: [{ file (its TAP's name), pid, started (ms) }]. */
function running(out) {
  return fs
    .readdirSync(out)
    .filter((name) => name.endsWith('.running'))
    .map((name) => {
      const at = path.join(out, name)
      try {
        return { file: name.slice(0, -'.running'.length), pid: Number(fs.readFileSync(at, 'utf8')), started: fs.statSync(at).mtimeMs, at }
      } catch {
        return null // gone since the listing: it finished
      }
    })
    .filter(Boolean)
}

function fail(out, file, why) {
  fs.appendFileSync(path.join(out, `${file}.tap`), `\nnot ok - ${file} ${why} (ended by windows-suite-watch.js)\n`)
}

/**
 * Runs `node` (a node.exe) with windows-suite.js on `files` under wine (`wineRun`), in `out`;
 * resolves once the run has ended, by itself or killed after `limitMs`.
 */
function watchSuite({ wineRun, node, suite, out, files, env, limitMs }) {
  const log = path.join(out, '.wine-output.txt')
  // A session of its own, so its process group holds every wine process it starts.
  const run = spawn('sh', ['-c', `"$0" wine "$@" > "${log}" 2>&1`, wineRun, node, suite, out, ...files], {
    cwd: out,
    env,
    stdio: 'ignore',
    detached: true,
  })
  const started = Date.now()
  const killed = new Map()
  const killRun = (why) => {
    console.log(`windows-suite-watch: killing the whole wine run (${why})`)
    try {
      process.kill(-run.pid, 'SIGKILL')
    } catch {}
  }
  const taskkill = (pid) => {
    try {
      execFileSync('sh', ['-c', `"$0" wine taskkill /PID ${pid} /T /F`, wineRun], { cwd: out, env, stdio: 'ignore', timeout: AFTER_KILL_MS })
    } catch {}
  }
  // A pid named in OUT is still its ava's: windows-suite.js, alive while the run is, holds the
  // process (its handle) until it has removed the name.
  const look = () => {
    const now = Date.now()
    for (const { file, pid, started: at } of running(out)) {
      if (killed.has(file)) {
        if (now - killed.get(file) > AFTER_KILL_MS) killRun(`${file} still ran a minute after taskkill`)
        continue
      }
      if (now - at < FILE_DEADLINE_MS) continue
      killed.set(file, now)
      fail(out, file, `did not finish within ${FILE_DEADLINE_MS} ms`)
      taskkill(pid)
    }
    if (now - started > limitMs) killRun(`it outlived ${limitMs} ms`)
  }
  const timer = setInterval(look, LOOK_EVERY_MS)
  // In a session of its own, the run would outlive this script stopped by a signal.
  const stopped = (signal) => {
    killRun(`this script got ${signal}`)
    process.exit(1)
  }
  process.once('SIGINT', stopped).once('SIGTERM', stopped)
  return new Promise((resolve, reject) => {
    run.on('error', reject)
    run.on('exit', (code, signal) => {
      clearInterval(timer)
      process.off('SIGINT', stopped).off('SIGTERM', stopped)
      // Files the run left unfinished (it ended, or was ended, while they ran) fail. Whatever of
      // the run outlived it is ended by its process group: not by the pids those files name, which
      // windows-suite.js no longer holds, so wine may have given them to others' processes.
      for (const { file, at } of running(out)) {
        if (!killed.has(file)) fail(out, file, 'was still running when the suite ended')
        fs.rmSync(at, { force: true })
      }
      try {
        process.kill(-run.pid, 'SIGKILL')
      } catch {}
      const printed = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''
      fs.rmSync(log, { force: true })
      resolve({ code, signal, printed })
    })
  })
}

module.exports = { watchSuite }
