'use strict'
const assert = require('node:assert')

exports['adds integers'] = () => {
  assert.strictEqual(2 + 2, 4)
}

// Fails on purpose: shows how an assertion failure is reported.
exports['adds decimals exactly'] = () => {
  assert.strictEqual(0.1 + 0.2, 0.3)
}

exports['rounds to two places'] = () => {
  assert.strictEqual(Math.round((0.1 + 0.2) * 100) / 100, 0.3)
}
