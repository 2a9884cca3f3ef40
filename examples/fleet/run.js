// `npm run example:fleet`: Redis on a temporary Unix socket, two hosts and a parent on this
// machine; prints which host ran what, then shuts everything down.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-example-'))
const socket = path.join(dir, 'redis.sock')
const env = { ...process.env, REDIS_SOCKET: socket }

/** Starts `command`; resolves once a line of its output matches `ready`. */
function start(command, args, ready, extraEnv = {}) {
  const child = spawn(command, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (ready.test(out)) {
        child.stdout.removeAllListeners('data')
        if (command === 'redis-server') child.stdout.resume()
        else child.stdout.pipe(process.stdout)
        resolve(child)
      }
    })
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}) before it was ready:\n${out}`)))
  })
}

const stop = (child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM'))))

async function main() {
  const redis = await start('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--dir', dir], /ready to accept connections/i)
  const hosts = await Promise.all(
    ['host-a', 'host-b'].map((name) => start(process.execPath, [path.join(__dirname, 'host.js')], /ready/, { HOST_NAME: name })),
  )
  console.log(`redis at ${socket}; hosts ${hosts.map((h) => h.pid).join(', ')}`)
  try {
    const parent = spawn(process.execPath, [path.join(__dirname, 'parent.js')], { env, stdio: 'inherit' })
    const code = await new Promise((resolve) => parent.once('exit', resolve))
    process.exitCode = code
  } finally {
    await Promise.all(hosts.map(stop))
    await stop(redis)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err.message)
  console.error('The example needs redis-server (Debian/Ubuntu: apt-get install -y redis-server).')
  process.exit(1)
})
