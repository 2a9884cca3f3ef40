'use strict'

const test = require('ava')
const { start, get } = require('../examples/http-handoff/server')
const { waitFor } = require('./helpers/processes')
const { testWhere, cannotPassSockets } = require('./helpers/platform')

testWhere(cannotPassSockets())('the HTTP hand-off example serves real requests from several worker processes', async (t) => {
  const front = await start({ workers: 2 })
  t.teardown(() => front.close())
  // Both workers ready first: on a loaded machine the second may still be starting while the
  // first serves every request, and then a spread says nothing.
  await waitFor(() => front.pool.stats().idle + front.pool.stats().busy === 2, 30000, 'both workers to be ready')
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => get(front.port, `/n/${i}`)))
  t.deepEqual(
    answers.map((a) => a.url),
    Array.from({ length: 30 }, (_, i) => `/n/${i}`),
  )
  const pids = new Set(answers.map((a) => a.pid))
  t.is(pids.size, 2, `answered by ${[...pids]}`)
  t.false(pids.has(process.pid))
})
