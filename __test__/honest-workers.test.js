'use strict'
// Honest workers are never killed as protocol violators: whatever a method returns or throws
// costs at most its own call, and the same worker serves the next one.

const test = require('ava')
const { scaled } = require('./helpers/time')
const invoke = require('..')

const MAX = 20_000

let pool
let awkward
const reports = []

test.before(async () => {
  pool = invoke.pool({ limit: 1, maxMessageSize: MAX, onError: (error) => reports.push(error) })
  awkward = await invoke.require('./fixtures/awkward', { pool })
})
test.after.always(() => pool.close({ force: true }))

/** Runs `call`, then checks the worker that served the call before it still serves. */
async function sameWorker(t, call) {
  t.timeout(20_000)
  reports.length = 0
  const before = await awkward.pid()
  const outcome = await call().then(
    (value) => ({ value }),
    (error) => ({ error }),
  )
  t.is(await awkward.pid(), before, 'the same worker serves the next call')
  t.deepEqual(reports, [], 'nothing was reported')
  return outcome
}

test.serial('a result of exactly maxMessageSize bytes arrives; one byte more rejects that call', async (t) => {
  const exact = await sameWorker(t, () => awkward.sized(MAX))
  t.is(exact.value, 'a'.repeat(MAX - 1))
  const over = await sameWorker(t, () => awkward.sized(MAX + 1))
  t.is(over.error.code, 'ERR_INVOKE_MESSAGE_TOO_LARGE')
  t.regex(over.error.message, /result .*20001 bytes/)
})

test.serial('a thrown error over maxMessageSize rejects that call with ERR_INVOKE_MESSAGE_TOO_LARGE', async (t) => {
  const { error } = await sameWorker(t, () => awkward.throwLarge(MAX))
  t.true(error instanceof RangeError)
  t.is(error.code, 'ERR_INVOKE_MESSAGE_TOO_LARGE')
  t.regex(error.message, /thrown error/)
})

test.serial('a streamed item over maxMessageSize fails the stream with ERR_INVOKE_MESSAGE_TOO_LARGE', async (t) => {
  const items = []
  const { error } = await sameWorker(t, async () => {
    for await (const item of await awkward.streamLarge(MAX)) items.push(item)
  })
  t.deepEqual(items, ['small'])
  t.is(error.code, 'ERR_INVOKE_MESSAGE_TOO_LARGE')
  t.regex(error.message, /streamed item/)
})

test.serial('a thenable that calls back more than once settles with its first answer', async (t) => {
  t.is((await sameWorker(t, () => awkward.thenTwice())).value, 'first')
  t.is((await sameWorker(t, () => awkward.thenThenThrow())).value, 'kept')
})

test.serial('a result whose then getter throws rejects with what it threw', async (t) => {
  const { error } = await sameWorker(t, () => awkward.thenGetterThrows())
  t.true(error instanceof TypeError)
  t.is(error.message, 'the then getter threw')
})

for (const key of ['name', 'message', 'stack']) {
  test.serial(`an error whose ${key} getter throws arrives as an error saying so`, async (t) => {
    const { error } = await sameWorker(t, () => awkward.throwWithBadGetter(key))
    t.true(error instanceof RangeError)
    // Node formats a stack on first read, from the name and message: it throws with them.
    t.true(error.droppedProperties.includes(key))
    // The message as thrown, or, when it could not be read, why not.
    if (key === 'message') t.regex(error.message, /could not be read \(reading message threw/)
    else t.is(error.message, 'bad getter')
  })
}

test.serial('a thrown object whose toString throws arrives as an Error naming what was dropped', async (t) => {
  const { error } = await sameWorker(t, () => awkward.throwBadToString())
  t.true(error instanceof Error)
  t.deepEqual(error.droppedProperties, ['toString'])
  t.is(error.message, '')
})

test('maxMessageSize is at least 1024 bytes: room for the error that says a message was too large', (t) => {
  t.throws(() => invoke.pool({ maxMessageSize: 1023 }), { instanceOf: RangeError, message: /maxMessageSize must be at least 1024/ })
})
