'use strict'
const assert = require('node:assert')
const { setTimeout: sleep } = require('node:timers/promises')

// A stand-in for a slow backend: each lookup takes a while, as a database or HTTP call would.
const store = new Map([['answer', 42]])
async function lookup(key) {
  await sleep(400)
  return store.get(key)
}

exports['finds a stored key'] = async () => {
  assert.strictEqual(await lookup('answer'), 42)
}

// Fails on purpose: an async test that rejects after its wait.
exports['finds a key that was never stored'] = async () => {
  assert.strictEqual(await lookup('question'), 'unknown')
}
