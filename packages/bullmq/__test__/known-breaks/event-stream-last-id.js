'use strict'
// KNOWN BREAK (attack-fleet): one entry with the largest stream id stops the whole queue.
//
// The README promises that an entry of the queue's event stream that is not an event is read past
// and holds no later call back. Anyone who can write to the queue's Redis can add one entry with
// the id 18446744073709551615-18446744073709551615 (`XADD bull:<queue>:events <that id> event x`).
// Every BullMQ script that adds a job or finishes one ends with `XADD ... *` on that stream, which
// Redis now refuses ("The stream has exhausted the last possible ID"): every later call rejects at
// once with ERR_INVOKE_QUEUE (coded, nothing hangs, no host crashes), until someone deletes the
// stream (XDEL is not enough: a stream keeps its last id). Not fixable in the adapter alone: the
// XADD is inside BullMQ's scripts; a parent or host could notice the refusal and DEL the stream
// (losing the events of calls in flight, which the poll then reads from their jobs), a choice for
// the owner.
//
// Run: node packages/bullmq/__test__/known-breaks/event-stream-last-id.js
// Exits 1 while the break stands (the call after the entry is refused), 0 once fixed.

const invoke = require('invoke-parallel')
const { Queue } = require('bullmq')
const { remotePool } = require('invoke-parallel-bullmq')
const { startRedis, startHost, queueName, fixtures } = require('./lib')

async function main() {
  const redis = await startRedis()
  const queue = queueName()
  const host = await startHost(redis, queue)
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures, onError: () => {} })
  const add = () => pool[invoke.callMethod]('jobs.js', 'add', [1, 2], {}).then((value) => ({ value }), (error) => ({ code: error.code, message: error.message }))
  const before = await add()
  const inspect = new Queue(queue, { connection: redis.connection })
  const client = await inspect.getBackend().client
  await client.xadd(inspect.keys.events, '18446744073709551615-18446744073709551615', 'event', 'x')
  const after = await add()
  const fixed = before.value === 3 && after.value === 3
  console.log(fixed ? 'the call after the entry ran: fixed' : `BREAK: before the entry ${JSON.stringify(before)}, after it ${JSON.stringify(after)}`)
  await inspect.close()
  await pool.close({ force: true })
  host.kill()
  await host.exited
  await redis.stop()
  process.exitCode = fixed ? 0 : 1
}

main()
