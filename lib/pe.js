'use strict'
// How long a Windows DLL's own headers say it is (the PE/COFF section table): a copy cut short
// (an interrupted install, a full disk) is refused with a code before LoadLibrary sees it, as
// lib/elf.js does for Linux, instead of failing as an unexplained ERR_DLOPEN_FAILED.

const SECTION_ENTRY = 40

/**
 * The smallest file length that holds the headers and every section's raw data of the PE bytes
 * reachable through `read(position, length)` (a Buffer, shorter at the end), or null when they are
 * not PE. Headers cut before the section table read as longer than what is there.
 */
function peExtent(read) {
  const dos = read(0, 64)
  if (dos.length < 64 || dos.readUInt16LE(0) !== 0x5a4d) return null
  const peAt = dos.readUInt32LE(0x3c)
  const coff = read(peAt, 24)
  if (coff.length < 24) return { extent: peAt + 24 }
  if (coff.readUInt32LE(0) !== 0x00004550) return null
  const sections = coff.readUInt16LE(6)
  const tableAt = peAt + 24 + coff.readUInt16LE(20)
  let extent = tableAt + sections * SECTION_ENTRY
  const table = read(tableAt, sections * SECTION_ENTRY)
  if (table.length < sections * SECTION_ENTRY) return { extent }
  for (let index = 0; index < sections; index++) {
    const size = table.readUInt32LE(index * SECTION_ENTRY + 16)
    const offset = table.readUInt32LE(index * SECTION_ENTRY + 20)
    if (size > 0) extent = Math.max(extent, offset + size)
  }
  return { extent }
}

module.exports = { peExtent }
