'use strict'
// A module whose exports throw when listed (a Proxy's trap) rejects its require with what they
// threw, its worker living on, however the exports arrive: as module.exports, as a promise of
// them, or as an ES module's default. Found by attack: promised or imported exports were listed
// outside any catch, so the worker died of an unhandled rejection, three attempts killed three
// workers, and the require rejected with Retry.

const test = require('ava')
const invoke = require('..')
const { watchedPool } = require('./helpers/pools')

for (const fixture of ['async-exports-unlistable.js', 'esm-default-unlistable.mjs']) {
  test(`${fixture}: the require rejects with what listing threw; no worker dies`, async (t) => {
    const { pool, errors } = watchedPool(t, { limit: 1 })
    const echo = await invoke.require('./fixtures/echo', { pool })
    const workers = pool.stats().workers
    await t.throwsAsync(invoke.require(`./fixtures/${fixture}`, { pool }), { instanceOf: RangeError, message: 'these exports cannot be listed' })
    t.is(await echo.echo('after'), 'after')
    t.deepEqual(errors, [])
    t.is(pool.stats().workers, workers)
  })
}
