'use strict'
// Which invoke-parallel native addon a process actually loaded, and whether it is an optimized
// build. A debug build (`npm run build:debug`) is several times slower per call, and the repo's
// addon may be either at any moment, so every invoke-parallel result records it.

const fs = require('node:fs')

/** Paths of the mapped `.node` files of this process whose name mentions invoke-parallel. */
function loadedAddons() {
  const paths = new Set()
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const file = line.slice(line.indexOf('/'))
    if (line.includes('/') && /\.node$/.test(file) && /invoke[-_]parallel/.test(file)) paths.add(file)
  }
  return [...paths]
}

/** Names of an ELF64 little-endian file's sections. */
function sectionNames(file) {
  const fd = fs.openSync(file, 'r')
  try {
    const header = Buffer.alloc(64)
    fs.readSync(fd, header, 0, 64, 0)
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return null
    const shoff = Number(header.readBigUInt64LE(0x28))
    const shentsize = header.readUInt16LE(0x3a)
    const shnum = header.readUInt16LE(0x3c)
    const shstrndx = header.readUInt16LE(0x3e)
    const table = Buffer.alloc(shentsize * shnum)
    fs.readSync(fd, table, 0, table.length, shoff)
    const strOffset = Number(table.readBigUInt64LE(shstrndx * shentsize + 0x18))
    const strSize = Number(table.readBigUInt64LE(shstrndx * shentsize + 0x20))
    const strings = Buffer.alloc(strSize)
    fs.readSync(fd, strings, 0, strSize, strOffset)
    const names = []
    for (let i = 0; i < shnum; i++) {
      const at = table.readUInt32LE(i * shentsize)
      names.push(strings.toString('latin1', at, strings.indexOf(0, at)))
    }
    return names
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * `release` when the file has no DWARF sections (the release profile has none), `debug` when it
 * has them (the dev profile, `npm run build:debug`).
 */
function describe(file) {
  const names = sectionNames(file)
  const build = names === null ? 'unknown' : names.includes('.debug_info') ? 'debug' : 'release'
  return { path: file, build, sizeMB: Number((fs.statSync(file).size / 1048576).toFixed(1)) }
}

module.exports = { loadedAddons, describe }
