'use strict'
// The dynamic loader an ELF executable names (its PT_INTERP program header): the C library this
// process itself was started with, read from the running executable rather than from the host's
// files. The loader's fallback when Node's diagnostic report cannot be had.

const fs = require('node:fs')

const PT_INTERP = 3
const MAX_INTERP = 4096

/** Reads `length` bytes at `position` of the open file `fd` (fewer at its end). */
function readAt(fd, position, length) {
  const buffer = Buffer.alloc(length)
  const read = fs.readSync(fd, buffer, 0, length, position)
  return buffer.subarray(0, read)
}

/** The interpreter path named in the ELF bytes reachable through `read(position, length)`, or null. */
function interpreterOf(read) {
  const header = read(0, 64)
  if (header.length < 52 || header.readUInt32BE(0) !== 0x7f454c46) return null
  const is64 = header[4] === 2
  const little = header[5] === 1
  if ((header[4] !== 1 && !is64) || (header[5] !== 1 && header[5] !== 2) || (is64 && header.length < 64)) return null
  const u16 = (buf, at) => (little ? buf.readUInt16LE(at) : buf.readUInt16BE(at))
  const u32 = (buf, at) => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at))
  const word = (buf, at) => (is64 ? Number(little ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at)) : u32(buf, at))
  const phoff = word(header, is64 ? 0x20 : 0x1c)
  const phentsize = u16(header, is64 ? 0x36 : 0x2a)
  const phnum = u16(header, is64 ? 0x38 : 0x2c)
  if (phentsize < (is64 ? 56 : 32)) return null
  for (let index = 0; index < phnum; index++) {
    const entry = read(phoff + index * phentsize, phentsize)
    if (entry.length < phentsize) return null
    if (u32(entry, 0) !== PT_INTERP) continue
    const offset = word(entry, is64 ? 0x08 : 0x04)
    const size = word(entry, is64 ? 0x20 : 0x10)
    if (size === 0 || size > MAX_INTERP) return null
    const text = read(offset, size).toString('latin1')
    const end = text.indexOf('\0')
    return end === -1 ? text : text.slice(0, end)
  }
  return null
}

/** The interpreter of the executable at `file` (default: this process's), or null (none, unreadable). */
function elfInterpreter(file = '/proc/self/exe') {
  let fd
  try {
    fd = fs.openSync(file, 'r')
    return interpreterOf((position, length) => readAt(fd, position, length))
  } catch {
    return null
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

module.exports = { elfInterpreter, interpreterOf }
