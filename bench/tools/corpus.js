'use strict'
// The benchmark's inputs, taken from the installed packages: the same files on every run of a
// given checkout (paths sorted, an even sample of them), so every library gets the same work.

const fs = require('node:fs')
const path = require('node:path')

const NODE_MODULES = path.join(__dirname, '..', '..', 'node_modules')

function walk(dir, keep, found) {
  let entries
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return found
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(full, keep, found)
    else if (entry.isFile() && keep(entry.name)) found.push(full)
  }
  return found
}

/** `count` files (an even sample over the sorted paths) of 1-64 KiB whose names `keep` accepts. */
function sample(keep, count, { min = 1024, max = 64 * 1024 } = {}) {
  const files = walk(NODE_MODULES, keep, [])
    .filter((file) => {
      const { size } = fs.statSync(file)
      return size >= min && size <= max
    })
    .sort()
  const step = Math.max(1, files.length / count)
  const picked = []
  for (let i = 0; i < files.length && picked.length < count; i += step) picked.push(files[Math.floor(i)])
  return picked.map((file) => fs.readFileSync(file, 'utf8'))
}

const isScript = (name) => name.endsWith('.js') && !name.endsWith('.min.js')
const isTypeScript = (name) => /\.[cm]?ts$/.test(name)
const isMarkdown = (name) => /\.md$/i.test(name)

const CORPORA = {
  terser: (scale) => sample(isScript, Math.round(400 * scale)),
  // Declaration files too: there are too few plain .ts files; transpiling one still parses it all.
  typescript: (scale) => sample(isTypeScript, Math.round(400 * scale)),
  prettier: (scale) => sample(isScript, Math.round(150 * scale)),
  marked: (scale) => sample(isMarkdown, Math.round(300 * scale)),
  tail: (scale) => heavyTailedCosts(Math.round(600 * scale)),
}

/**
 * Milliseconds of computing per task, heavy-tailed (Pareto, shape 1.5, from 1 ms, capped at
 * 100 ms: most tasks short, a few long ones holding most of the work), the same on every run.
 */
function heavyTailedCosts(count) {
  let seed = 0x2545f491
  const random = () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 2 ** 32
  }
  return Array.from({ length: count }, () => Math.min(100, 1 / (1 - random()) ** (1 / 1.5)))
}

/** Markdown blocks (paragraphs, lists, fences...) split at blank lines: the tiny-item job. */
function markdownBlocks(scale) {
  const blocks = []
  for (const doc of sample(isMarkdown, Math.round(120 * scale))) {
    for (const block of doc.split(/\n\s*\n/)) if (block.trim() !== '') blocks.push(block)
  }
  return blocks
}

module.exports = { CORPORA, markdownBlocks }
