'use strict'
// One library, one job, one mode, in a fresh process: `node case.js '<json spec>'`; the result
// comes back as one `@@TOOLS-RESULT {json}` line on stdout. run.js spawns this.
//
// spec: {lib, job, mode, workers, scale}. File jobs (terser, typescript, prettier, marked) run
// in `bulk` (every file submitted at once) or `bounded` (2 per worker in flight) mode, or for
// invoke-parallel also `map` (every file given to invoke.map at once); the item
// jobs, `blocks` (marked per Markdown block) and `tiny` (x + 1 per number), run as `calls` (one
// call per item, all at once), `map` (invoke.map) or `inline` (no pool).

const path = require('node:path')
const { performance } = require('node:perf_hooks')
const { CORPORA, markdownBlocks } = require('./corpus')
const { POOLS } = require('./pools')

const TASKS = path.join(__dirname, 'tasks.js')
const METHODS = ['terser', 'typescript', 'prettier', 'marked', 'tail', 'markdownBlock', 'increment', 'warm']
const ITEM_JOBS = {
  blocks: { method: 'markdownBlock', items: () => markdownBlocks(spec.scale) },
  tiny: { method: 'increment', items: () => Array.from({ length: Math.round(50000 * spec.scale) }, (_, i) => i) },
}
const MARK = '@@TOOLS-RESULT '
const spec = JSON.parse(process.argv[2])

/** Runs `items` through `call`, all at once or `limit` at a time; the results in input order. */
async function submit(items, call, limit, onResult) {
  const results = new Array(items.length)
  let next = 0
  const one = (i) =>
    call(items[i]).then((result) => {
      results[i] = result
      onResult()
    })
  if (limit === Infinity) {
    await Promise.all(items.map((_, i) => one(i)))
    return results
  }
  const lane = async () => {
    while (next < items.length) await one(next++)
  }
  await Promise.all(Array.from({ length: limit }, lane))
  return results
}

/**
 * The busiest worker's busy time over the mean, a worker that got nothing counting as 0: each
 * worker's busy time is its event loop's, from its first task's start to its last one's end.
 */
function imbalance(results, workers) {
  const spans = new Map()
  for (const { worker, start, end } of results) {
    const span = spans.get(worker)
    if (span === undefined) spans.set(worker, { start, end })
    else {
      span.start = Math.min(span.start, start)
      span.end = Math.max(span.end, end)
    }
  }
  const busy = [...spans.values()].map(({ start, end }) => end - start)
  const total = busy.reduce((sum, ms) => sum + ms, 0)
  return Math.max(...busy) / (total / workers)
}

async function fileJob(pool) {
  const items = CORPORA[spec.job](spec.scale)
  let first = null
  const t0 = performance.now()
  const took = () => {
    first ??= performance.now() - t0
  }
  let results
  if (spec.mode === 'map') {
    results = []
    for await (const result of pool.map(spec.job, items)) {
      took()
      results.push(result)
    }
  } else {
    results = await submit(items, (item) => pool.call(spec.job, item), spec.mode === 'bulk' ? Infinity : 2 * spec.workers, took)
  }
  const wallMs = performance.now() - t0
  return {
    items: items.length,
    wallMs,
    firstMs: first,
    imbalance: imbalance(results, spec.workers),
    peakWorkerRssMB: Math.max(...results.map((r) => r.rss)) / 2 ** 20,
  }
}

async function itemJob(pool) {
  const { method, items: make } = ITEM_JOBS[spec.job]
  const items = make()
  let first = null
  let check = 0
  const t0 = performance.now()
  // What came back, summed, so that every mode is seen to give the same results.
  const took = (result) => {
    first ??= performance.now() - t0
    check += typeof result === 'string' ? result.length : result
  }
  if (spec.mode === 'inline') {
    const tasks = require(TASKS)
    for (const item of items) took(tasks[method](item))
  } else if (spec.mode === 'map') {
    for await (const result of pool.map(method, items)) took(result)
  } else {
    await Promise.all(items.map((item) => pool.call(method, item).then(took)))
  }
  const wallMs = performance.now() - t0
  return { items: items.length, wallMs, firstMs: first, itemsPerSec: (items.length / wallMs) * 1000, check }
}

/**
 * What the blocks job warms up on, in each worker and inline alike: all of its blocks. A first
 * pass over them costs 2-3 times a later one in any process (V8 tiers up marked's functions and
 * regular expressions as they run), more than the job's own work once warm, and a pool pays it in
 * every worker: with less (500 blocks), the job measured mostly that.
 */
const WARM_BLOCKS = spec.job === 'blocks' ? markdownBlocks(spec.scale) : null

async function main() {
  if (spec.mode === 'inline') {
    // The warm-up a worker gets, done twice as a worker may be given it twice.
    await require(TASKS).warm(WARM_BLOCKS)
    await require(TASKS).warm(WARM_BLOCKS)
    if (spec.job === 'tiny') for (let i = 0; i < 1e5; i++) require(TASKS).increment(i)
    return itemJob(null)
  }
  const pool = await POOLS[spec.lib](TASKS, METHODS, spec.workers)
  // Every worker loads the tools before the clock starts (more calls than workers reach them all
  // with round robin or a shared queue; a few extra are harmless).
  await Promise.all(Array.from({ length: 2 * spec.workers }, () => pool.call('warm', WARM_BLOCKS)))
  const result = spec.job in ITEM_JOBS ? await itemJob(pool) : await fileJob(pool)
  await pool.stop()
  return result
}

main().then(
  (result) => process.stdout.write(`\n${MARK}${JSON.stringify({ ...spec, ...result })}\n`, () => process.exit(0)),
  (err) => process.stdout.write(`\n${MARK}${JSON.stringify({ ...spec, error: String(err?.stack ?? err) })}\n`, () => process.exit(1)),
)
