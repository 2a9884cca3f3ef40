'use strict'
const assert = require('node:assert')

// Plain trial division: slow on purpose, so this file keeps its worker's CPU busy (~200 ms)
// while the other files wait on timers in other workers.
function countPrimes(below) {
  let count = 0
  for (let n = 2; n < below; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}

exports['counts the primes below 1.5 million'] = () => {
  assert.strictEqual(countPrimes(1_500_000), 114155)
}

exports['knows 1 is not prime'] = () => {
  assert.strictEqual(countPrimes(2), 0)
}
