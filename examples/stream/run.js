'use strict'
// Streams records parsed in a worker process into the parent, which aggregates them as they
// arrive: `for await (const record of await parse.records(file))`.
//
//   node examples/stream/run.js [records]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const invoke = require('../..')

const REGIONS = ['north', 'south', 'east', 'west']

/** A sample sales file: `id,region,amount`, with deterministic pseudo-random amounts. */
function writeSample(file, count) {
  const rows = ['id,region,amount']
  let seed = 42
  for (let id = 1; id <= count; id++) {
    seed = (seed * 1103515245 + 12345) % 2147483648
    rows.push(`${id},${REGIONS[id % REGIONS.length]},${(seed % 100000) / 100}`)
  }
  fs.writeFileSync(file, `${rows.join('\n')}\n`)
}

async function main() {
  const count = Number(process.argv[2] ?? 20000)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-stream-example-'))
  const file = path.join(dir, 'sales.csv')
  writeSample(file, count)
  const pool = invoke.pool({ limit: 1 })
  try {
    const parse = await invoke.require('./parse', { pool })

    // The whole file, aggregated as records arrive.
    const started = Date.now()
    const totals = new Map()
    let records = 0
    for await (const record of await parse.records(file)) {
      records++
      totals.set(record.region, (totals.get(record.region) ?? 0) + record.amount)
    }
    console.log(`${records} records streamed from a worker in ${Date.now() - started} ms`)
    for (const [region, total] of totals) console.log(`  ${region.padEnd(6)} ${total.toFixed(2)}`)

    // Stop early: the worker's generator is closed as soon as the loop breaks.
    const big = []
    for await (const record of await parse.records(file)) {
      if (record.amount > 990) big.push(record.id)
      if (big.length === 3) break
    }
    console.log(`first three sales over 990: ids ${big.join(', ')} (the rest of the file was never parsed)`)
  } finally {
    await pool.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
