'use strict'
// node bench/require.js <baseline-checkout> [rounds]: what `require('invoke-parallel')` costs in a
// fresh Node, and of it the loader's choice of binary (lib/platform.js currentTarget(): the C
// library), this checkout against another one (a worktree at main, say), in interleaved rounds
// (the order alternates each round) so load on a shared machine falls on both alike. Prints the
// medians and the median of the per-round ratios (this / baseline).

const path = require('node:path')
const { execFileSync } = require('node:child_process')

const here = path.join(__dirname, '..')
const [baseline, roundsArg = '20'] = process.argv.slice(2)
if (!baseline) {
  console.error('usage: node bench/require.js <baseline-checkout> [rounds]')
  process.exit(2)
}
const rounds = Number(roundsArg)

const MEASURES = {
  "require('invoke-parallel')": (dir) => `require(${JSON.stringify(path.resolve(dir))})`,
  'currentTarget()': (dir) => `require(${JSON.stringify(path.resolve(dir, 'lib', 'platform.js'))}).currentTarget()`,
}

/** Milliseconds `code` takes in a new Node process. */
function sample(code) {
  const script = `const t = process.hrtime.bigint(); ${code}; console.log(Number(process.hrtime.bigint() - t) / 1e6)`
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim())
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
for (const [name, code] of Object.entries(MEASURES)) {
  sample(code(here))
  sample(code(baseline))
  const ours = []
  const theirs = []
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      ours.push(sample(code(here)))
      theirs.push(sample(code(baseline)))
    } else {
      theirs.push(sample(code(baseline)))
      ours.push(sample(code(here)))
    }
  }
  const ratios = ours.map((ms, i) => ms / theirs[i])
  console.log(`${name}, ${rounds} interleaved rounds`)
  console.log(`  baseline ${baseline}: median ${median(theirs).toFixed(2)} ms`)
  console.log(`  this checkout: median ${median(ours).toFixed(2)} ms`)
  console.log(`  ratio this/baseline: median ${median(ratios).toFixed(2)}x (min ${Math.min(...ratios).toFixed(2)}x, max ${Math.max(...ratios).toFixed(2)}x)`)
}
