'use strict'
// The worker module every pool loads for the real-tool benchmark: one export per job, each taking
// one item. A file job answers what the parent needs for the figures: which worker ran it (pid and
// thread), that worker's event-loop busy time when the task started and ended (for load
// imbalance; the loop's own count, so tasks that overlap in one worker are not counted twice)
// and its RSS then (for peak memory).

const { performance } = require('node:perf_hooks')
const { threadId } = require('node:worker_threads')

let terser, ts, prettier, marked

const busy = () => performance.eventLoopUtilization().active

function answer(start, size) {
  return { worker: `${process.pid}:${threadId}`, start, end: busy(), rss: process.memoryUsage.rss(), size }
}

function measured(run) {
  const start = busy()
  return answer(start, run())
}

exports.terser = async (source) => {
  terser ??= require('terser')
  const start = busy()
  let size = -1
  try {
    size = (await terser.minify(source, { compress: true, mangle: true })).code.length
  } catch {
    // A file terser cannot parse (a syntax it does not take) still counts as the work it did.
  }
  return answer(start, size)
}

exports.typescript = (source) =>
  measured(() => {
    ts ??= require('typescript')
    const options = { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }
    return ts.transpileModule(source, options).outputText.length
  })

exports.prettier = async (source) => {
  prettier ??= require('prettier')
  const start = busy()
  let size = -1
  try {
    size = (await prettier.format(source, { parser: 'babel' })).length
  } catch {
    // As for terser: a file it cannot parse still took its time.
  }
  return answer(start, size)
}

/** The synthetic heavy-tailed job: computes for `ms` milliseconds. */
exports.tail = (ms) =>
  measured(() => {
    const end = performance.now() + ms
    while (performance.now() < end);
    return ms
  })

exports.marked = (source) =>
  measured(() => {
    marked ??= require('marked').marked
    return marked.parse(source).length
  })

/** One Markdown block to HTML: the tiny-item job, answered with the HTML alone. */
exports.markdownBlock = (block) => {
  marked ??= require('marked').marked
  return marked.parse(block)
}

/** The smallest item there is: what a call per item costs, with nothing to hide it. */
exports.increment = (x) => x + 1

/**
 * Loads every tool before the clock starts, so no job's first task pays for its require; given
 * Markdown blocks, renders them too (the blocks job is short enough for JIT warm-up to dominate).
 * Prettier's CommonJS entry only starts an import() of its ESM build: one format waits for that
 * to finish, or the worker would still be compiling prettier while it runs the measured tasks.
 */
exports.warm = async (blocks) => {
  terser ??= require('terser')
  ts ??= require('typescript')
  prettier ??= require('prettier')
  marked ??= require('marked').marked
  await prettier.format('x', { parser: 'babel' })
  for (const block of blocks ?? []) marked.parse(block)
  return process.pid
}
