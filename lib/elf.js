'use strict'
// What the loader reads from ELF files itself, before the dynamic loader sees them:
// - the interpreter an executable names (its PT_INTERP program header): the C library this
//   process was started with, read from the running executable rather than from the host's files
//   (the fallback when Node's diagnostic report cannot be had);
// - how long a file's own headers say it is: a shared object cut short (an interrupted copy, a
//   full disk) is not handed to dlopen, which maps the missing pages and kills the process with
//   SIGBUS when it touches them.

const fs = require('node:fs')

const PT_INTERP = 3
const MAX_INTERP = 4096

/**
 * `{interpreter, extent}` of the ELF bytes reachable through `read(position, length)` (a Buffer,
 * shorter at the end): `interpreter` is the PT_INTERP path or null, `extent` the smallest file
 * length that holds every segment and the section header table. Null when they are not ELF.
 */
function readElf(read) {
  const header = read(0, 64)
  if (header.length < 52 || header.readUInt32BE(0) !== 0x7f454c46) return null
  const is64 = header[4] === 2
  const little = header[5] === 1
  if ((header[4] !== 1 && !is64) || (header[5] !== 1 && header[5] !== 2) || (is64 && header.length < 64)) return null
  const u16 = (buf, at) => (little ? buf.readUInt16LE(at) : buf.readUInt16BE(at))
  const u32 = (buf, at) => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at))
  const word = (buf, at) => (is64 ? Number(little ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at)) : u32(buf, at))
  const phoff = word(header, is64 ? 0x20 : 0x1c)
  const shoff = word(header, is64 ? 0x28 : 0x20)
  const phentsize = u16(header, is64 ? 0x36 : 0x2a)
  const phnum = u16(header, is64 ? 0x38 : 0x2c)
  const shentsize = u16(header, is64 ? 0x3a : 0x2e)
  const shnum = u16(header, is64 ? 0x3c : 0x30)
  let extent = Math.max(is64 ? 64 : 52, shoff === 0 ? 0 : shoff + shnum * shentsize, phnum === 0 ? 0 : phoff + phnum * phentsize)
  let interpreter = null
  if (phnum > 0 && phentsize < (is64 ? 56 : 32)) return null
  for (let index = 0; index < phnum; index++) {
    const entry = read(phoff + index * phentsize, phentsize)
    if (entry.length < phentsize) return { interpreter, extent }
    const offset = word(entry, is64 ? 0x08 : 0x04)
    const size = word(entry, is64 ? 0x20 : 0x10)
    extent = Math.max(extent, offset + size)
    if (u32(entry, 0) !== PT_INTERP || interpreter !== null || size === 0 || size > MAX_INTERP) continue
    const text = read(offset, size).toString('latin1')
    const end = text.indexOf('\0')
    interpreter = end === -1 ? text : text.slice(0, end)
  }
  return { interpreter, extent }
}

/** Reads `length` bytes at `position` of the open file `fd` (fewer at its end). */
function readAt(fd, position, length) {
  const buffer = Buffer.alloc(length)
  const read = fs.readSync(fd, buffer, 0, length, position)
  return buffer.subarray(0, read)
}

/** `parse(read)` of the file at `file` plus its `size`, or null (`parse` found nothing, unreadable). */
function parsedFile(file, parse) {
  let fd
  try {
    fd = fs.openSync(file, 'r')
    const parsed = parse((position, length) => readAt(fd, position, length))
    return parsed && { ...parsed, size: fs.fstatSync(fd).size }
  } catch {
    return null
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/** `readElf` of the file at `file` plus its `size`, or null (not ELF, unreadable). */
const elfFile = (file) => parsedFile(file, readElf)

/** The interpreter of the executable at `file` (default: this process's), or null (none, unreadable). */
function elfInterpreter(file = '/proc/self/exe') {
  return elfFile(file)?.interpreter ?? null
}

module.exports = { readElf, elfFile, elfInterpreter, parsedFile }
