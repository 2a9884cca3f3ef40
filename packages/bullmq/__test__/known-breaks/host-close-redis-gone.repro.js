'use strict'
// KNOWN BREAK (kept out of the suite: run with `npx ava __test__/known-breaks/host-close-redis-gone.repro.js`
// from packages/bullmq, several times, or beside other tests: it hangs in about half the runs under load).
// A host's close() right after its Redis died never resolves when ioredis has not yet noticed the
// loss: the client's status is still 'ready', so BullMQ's Worker.close() asks the connections to
// QUIT, and QUIT waits for a Redis that does not come back. A SIGTERM handler that closes the host
// then never ends it. (When ioredis has noticed, lib/host.js closes the worker by force and it ends.)

const { serve } = require('invoke-parallel-bullmq')
const { redisTest, startRedis, queueName, fixtures } = require('../helpers/fleet')

const test = redisTest(__filename)

for (let i = 0; i < 8; i++) {
  test(`a host whose Redis went away closes (${i})`, async (t) => {
    const own = await startRedis()
    t.teardown(() => own.stop())
    const host = serve({ queue: queueName(), connection: own.connection, root: fixtures, modules: ['./jobs.js'], pool: { limit: 1 }, onError: () => {} })
    await host.ready
    await own.stop({ kill: true })
    await host.close()
    t.pass()
  })
}
