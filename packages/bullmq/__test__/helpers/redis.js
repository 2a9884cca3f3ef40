'use strict'
// A real redis-server for a test: on a Unix socket in a fresh temporary folder, no TCP port, no
// persistence. `stop()` ends it (SIGKILL with `{kill: true}`, as a crash would).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

const INSTALL = 'apt-get install -y redis-server'

/** Null when redis-server can run here, else why not (for a skipped test's title). */
function missing() {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return found.error ? `redis-server is not installed (${INSTALL})` : null
}

/**
 * Starts redis-server (in folder `dir`, a new one by default); resolves once it accepts
 * connections. `restart()` SIGKILLs it and starts an empty one on the same socket.
 */
function startRedis(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-redis-'))) {
  const socket = path.join(dir, 'redis.sock')
  const child = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk) => {
      out += chunk
      if (!/ready to accept connections/i.test(out)) return
      child.stdout.off('data', onData)
      child.stdout.resume()
      resolve({
        connection: { path: socket },
        pid: child.pid,
        exited,
        async stop({ kill = false } = {}) {
          if (child.exitCode === null && child.signalCode === null) child.kill(kill ? 'SIGKILL' : 'SIGTERM')
          await exited
          fs.rmSync(dir, { recursive: true, force: true })
        },
        async restart() {
          child.kill('SIGKILL')
          await exited
          fs.rmSync(socket, { force: true })
          return startRedis(dir)
        },
      })
    }
    child.stdout.on('data', onData)
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${out}`)))
  })
}

module.exports = { startRedis, missing, INSTALL }
