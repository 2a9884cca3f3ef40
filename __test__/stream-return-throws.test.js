'use strict'
// A stream the reader stops early whose iterator's return() throws or rejects costs nothing: the
// worker lives on, onError hears nothing, the next call runs there. Found by attack: the shim
// called a return() that had just thrown again outside any catch, and the worker died of an
// uncaught exception (its other calls retried, onError told of a crash).

const test = require('ava')
const invoke = require('..')
const { watchedPool } = require('./helpers/pools')

for (const how of ['throws', 'rejects']) {
  test(`a stream whose return() ${how} when the reader breaks leaves its worker running`, async (t) => {
    const { pool, errors } = watchedPool(t, { limit: 1 })
    const streams = await invoke.require('./fixtures/stream-return-throws', { pool })
    const pid = await streams.pid()
    for (let round = 0; round < 3; round++) {
      let read = 0
      for await (const item of await streams.counting(how)) {
        t.is(item, read)
        if (++read === 3) break
      }
    }
    // The worker answers after it handled the stops (frames from one worker arrive in order).
    t.is(await streams.pid(), pid)
    t.deepEqual(errors, [])
  })
}
