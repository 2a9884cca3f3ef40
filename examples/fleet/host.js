// A host: run N of these (systemd, a Kubernetes Deployment). It serves the queue with a local
// pool and loads only the modules it lists.
const { serve } = require('invoke-parallel-bullmq')

const connection = { path: process.env.REDIS_SOCKET }
const host = serve({ queue: 'hash', connection, root: __dirname, modules: ['./hash.js'], pool: { limit: 2 } })
host.ready.then(() => console.log(`host ${process.env.HOST_NAME} ready`))
// Stops taking jobs, finishes the running ones.
process.on('SIGTERM', () => host.close().then(() => process.exit(0)))
