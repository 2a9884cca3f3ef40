'use strict'
// invoke-parallel-bullmq: invoke-parallel's module proxies on a fleet of hosts, through a BullMQ
// queue on Redis. `remotePool()` in the parent, `serve()` on each host.

const { remotePool } = require('./lib/remote-pool')
const { serve } = require('./lib/host')

module.exports = { remotePool, serve }
