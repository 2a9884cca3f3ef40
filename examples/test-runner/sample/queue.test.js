'use strict'
const assert = require('node:assert')
const { setTimeout: sleep } = require('node:timers/promises')

exports['keeps order across awaits'] = async () => {
  const seen = []
  await Promise.all([600, 300, 450].map(async (ms) => {
    await sleep(ms)
    seen.push(ms)
  }))
  assert.deepStrictEqual(seen, [300, 450, 600])
}

exports['rejects a bad job'] = async () => {
  await assert.rejects(async () => {
    await sleep(350)
    throw new RangeError('bad job')
  }, RangeError)
}
