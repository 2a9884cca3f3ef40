'use strict'
// A generator whose worker dies after `n` items (attack fixture).
exports.diesAfter = async function* (n) {
  for (let i = 0; i < n; i++) yield i
  await new Promise((r) => setTimeout(r, 50))
  process.exit(3)
}
exports.floods = async function* () {
  const big = 'x'.repeat(1 << 20)
  for (;;) yield big
}
