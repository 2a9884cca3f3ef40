'use strict'
const assert = require('node:assert')
const { setTimeout: sleep } = require('node:timers/promises')

exports['waits 500 ms'] = async () => {
  const start = Date.now()
  await sleep(500)
  assert.ok(Date.now() - start >= 490)
}

exports['resolves a value after 300 ms'] = async () => {
  assert.strictEqual(await sleep(300, 'done'), 'done')
}
