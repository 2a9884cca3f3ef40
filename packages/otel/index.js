'use strict'
// OpenTelemetry for invoke-parallel: `instrument()` in the parent, `instrumentWorker()` in workers.
// It reads only the channels invoke-parallel publishes (node:diagnostics_channel), so it works with
// any copy of invoke-parallel and any pool that publishes them (invoke-parallel-bullmq's too).

const { instrument } = require('./lib/parent')
const { instrumentWorker } = require('./lib/worker')

module.exports = { instrument, instrumentWorker }
