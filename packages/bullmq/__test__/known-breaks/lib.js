// Real Redis and host processes for the known-break scripts (outside ava: they fail while the break stands).
const path = require('node:path')
const { spawn } = require('node:child_process')
const { startRedis } = require('../helpers/redis')
const fixtures = path.join(__dirname, '..', 'fixtures')
let n = 0
const queueName = () => `p${process.pid}-${++n}`
function startHost(redis, queue, { options = null, name = '' } = {}) {
  const args = [path.join(fixtures, 'host.js'), queue, redis.connection.path]
  if (options !== null) args.push(JSON.stringify(options))
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HOST_NAME: name } })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c) => { out += c; if (out.includes('ready')) resolve({ pid: child.pid, exited, kill: (s = 'SIGKILL') => (child.kill(s), exited), output: () => out }) })
    exited.then((how) => reject(new Error(`host exited ${how}: ${out}`)))
  })
}
module.exports = { startRedis, startHost, queueName, fixtures }
