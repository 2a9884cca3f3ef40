'use strict'
const assert = require('node:assert')

exports['pads a number'] = () => {
  assert.strictEqual(String(7).padStart(3, '0'), '007')
}

exports['splits words'] = () => {
  assert.deepStrictEqual('a quick fox'.split(' '), ['a', 'quick', 'fox'])
}

// Fails on purpose: toUpperCase does not know about the title case the test expects.
exports['capitalizes a title'] = () => {
  assert.strictEqual('the test runner'.toUpperCase(), 'The Test Runner')
}
