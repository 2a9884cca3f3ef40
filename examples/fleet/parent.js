// The parent: the same proxy code as with a local pool; only the pool changes.
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')

async function main() {
  const connection = { path: process.env.REDIS_SOCKET }
  const pool = remotePool({ queue: 'hash', connection, root: __dirname })
  const hash = await invoke.require('./hash', { pool })
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']
  for (const [i, { digest, host }] of (await Promise.all(words.map((w) => hash.sha256(w)))).entries()) {
    console.log(`${words[i].padEnd(8)} ${digest.slice(0, 16)}… ran on ${host}`)
  }
  await pool.close()
}

main()
