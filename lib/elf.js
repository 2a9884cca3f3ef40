'use strict'
// What the loader reads from ELF files itself, before the dynamic loader sees them:
// - the C library an executable was linked against: glibc if it needs any GLIBC_ symbol version
//   (its dynamic section's version needs, what glibc's symbol versioning leaves in every program
//   linked against it; musl has no symbol versions), else the one its interpreter names (its
//   PT_INTERP program header). Read from the running executable rather than from the host's
//   files, and far cheaper than Node's diagnostic report;
// - how long a file's own headers say it is: a shared object cut short (an interrupted copy, a
//   full disk) is not handed to dlopen, which maps the missing pages and kills the process with
//   SIGBUS when it touches them.

const fs = require('node:fs')

const PT_LOAD = 1
const PT_DYNAMIC = 2
const PT_INTERP = 3
const DT_NULL = 0
const DT_STRTAB = 5
const DT_VERNEED = 0x6ffffffe
const DT_VERNEEDNUM = 0x6fffffff
// Bounds on what a file's headers may make the reader walk: no real executable comes near them.
const MAX_DYNAMIC = 512
const MAX_VERNEED = 64
const MAX_NAME = 256
const MAX_INTERP = 4096

/**
 * `{interpreter, extent, needsGlibc}` of the ELF bytes reachable through `read(position, length)`
 * (a Buffer, shorter at the end): `interpreter` is the PT_INTERP path or null, `extent` the
 * smallest file length that holds every segment and the section header table, `needsGlibc`
 * (read only when `versions` asks) whether its version needs name a GLIBC_ version. Null when
 * they are not ELF.
 */
function readElf(read, { versions = false } = {}) {
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
  let dynamic = null
  const loads = []
  if (phnum > 0 && phentsize < (is64 ? 56 : 32)) return null
  for (let index = 0; index < phnum; index++) {
    const entry = read(phoff + index * phentsize, phentsize)
    if (entry.length < phentsize) return { interpreter, extent, needsGlibc: false }
    const type = u32(entry, 0)
    const offset = word(entry, is64 ? 0x08 : 0x04)
    const size = word(entry, is64 ? 0x20 : 0x10)
    extent = Math.max(extent, offset + size)
    if (type === PT_LOAD) loads.push({ offset, vaddr: word(entry, is64 ? 0x10 : 0x08), size })
    if (type === PT_DYNAMIC && dynamic === null) dynamic = { offset, size }
    if (type !== PT_INTERP || interpreter !== null || size === 0 || size > MAX_INTERP) continue
    interpreter = cString(read(offset, size))
  }
  let needsGlibc = false
  if (versions && dynamic !== null) {
    for (const name of versionNeeds({ read, u16, u32, word, is64 }, dynamic, loads)) {
      if ((needsGlibc = name.startsWith('GLIBC_'))) break
    }
  }
  return { interpreter, extent, needsGlibc }
}

/** The text up to the first NUL (all of it without one). */
function cString(buffer) {
  const text = buffer.toString('latin1')
  const end = text.indexOf('\0')
  return end === -1 ? text : text.slice(0, end)
}

/**
 * The version names (GLIBC_2.17, ...) the dynamic section at `dynamic` says the file needs of
 * the libraries it links, one by one: its DT_VERNEED entries, found through the loaded segments
 * (`loads`), since the dynamic section gives addresses, not file offsets. None when there are
 * none or they cannot be read.
 */
function* versionNeeds({ read, u16, u32, word, is64 }, dynamic, loads) {
  const fileOffset = (address) => {
    const load = loads.find(({ vaddr, size }) => address >= vaddr && address < vaddr + size)
    return load ? load.offset + address - load.vaddr : null
  }
  const entrySize = is64 ? 16 : 8
  const entries = read(dynamic.offset, Math.min(dynamic.size, MAX_DYNAMIC * entrySize))
  const tags = {}
  for (let at = 0; at + entrySize <= entries.length; at += entrySize) {
    const tag = word(entries, at)
    if (tag === DT_NULL) break
    tags[tag] ??= word(entries, at + entrySize / 2)
  }
  const strings = fileOffset(tags[DT_STRTAB])
  let need = fileOffset(tags[DT_VERNEED])
  if (strings === null || need === null) return
  for (let index = 0; index < Math.min(MAX_VERNEED, tags[DT_VERNEEDNUM] ?? 0); index++) {
    const entry = read(need, 16)
    if (entry.length < 16) break
    let aux = need + u32(entry, 8)
    for (let each = 0; each < Math.min(MAX_VERNEED, u16(entry, 2)); each++) {
      const vernaux = read(aux, 16)
      if (vernaux.length < 16) break
      yield cString(read(strings + u32(vernaux, 8), MAX_NAME))
      aux += u32(vernaux, 12)
    }
    if (u32(entry, 12) === 0) break
    need += u32(entry, 12)
  }
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

/** `readElf` of the file at `file` (with `options`) plus its `size`, or null (not ELF, unreadable). */
const elfFile = (file, options) => parsedFile(file, (read) => readElf(read, options))

/** The interpreter of the executable at `file` (default: this process's), or null (none, unreadable). */
function elfInterpreter(file = '/proc/self/exe') {
  return elfFile(file)?.interpreter ?? null
}

/**
 * 'gnu' or 'musl': the C library the executable at `file` (default: this process's) was linked
 * against, or null (static, not ELF, unreadable, an interpreter of neither). What Node's report
 * says too: glibcVersionRuntime exactly when Node was built against glibc, else musl's loader
 * among its shared objects.
 */
function elfLibc(file = '/proc/self/exe') {
  const elf = elfFile(file, { versions: true })
  if (!elf) return null
  if (elf.needsGlibc) return 'gnu'
  return /(^|\/)ld-musl-[^/]*$/.test(elf.interpreter ?? '') ? 'musl' : null
}

module.exports = { readElf, elfFile, elfInterpreter, elfLibc, parsedFile }
