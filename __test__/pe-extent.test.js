'use strict'
// A Windows DLL cut short is refused by its own headers (lib/pe.js) before LoadLibrary sees it:
// generated PE files of any shape read as exactly as long as their sections reach, and cut
// anywhere before that, as longer than what is left.

const test = require('ava')
const fc = require('fast-check')
const { peExtent } = require('../lib/pe')

/** PE bytes: a DOS header pointing `gap` bytes on to the COFF header, an optional header of `optional` bytes, then `sections` of raw data (sizes) after the table, `pad` bytes apart. */
function peBytes({ gap, optional, sections, pad }) {
  const peAt = 64 + gap
  const tableAt = peAt + 24 + optional
  let at = tableAt + sections.length * 40
  const placed = sections.map((size) => {
    at += pad
    const offset = at
    at += size
    return { offset, size }
  })
  const file = Buffer.alloc(at)
  file.writeUInt16LE(0x5a4d, 0)
  file.writeUInt32LE(peAt, 0x3c)
  file.writeUInt32LE(0x00004550, peAt)
  file.writeUInt16LE(sections.length, peAt + 6)
  file.writeUInt16LE(optional, peAt + 20)
  placed.forEach(({ offset, size }, index) => {
    file.writeUInt32LE(size, tableAt + index * 40 + 16)
    file.writeUInt32LE(size === 0 ? 0 : offset, tableAt + index * 40 + 20)
  })
  return file
}

const reader = (bytes) => (position, length) => bytes.subarray(position, position + length)

test('a PE file holds what its headers describe; cut anywhere past its DOS header, it is shorter than that', (t) => {
  const shape = fc.record({ gap: fc.nat(64), optional: fc.constantFrom(0, 224, 240), sections: fc.array(fc.nat(4096), { minLength: 1, maxLength: 6 }), pad: fc.nat(512) })
  fc.assert(
    fc.property(shape.chain((each) => fc.tuple(fc.constant(peBytes(each)), fc.nat())), ([bytes, at]) => {
      const { extent } = peExtent(reader(bytes))
      t.true(extent <= bytes.length)
      const cut = 64 + (at % Math.max(1, extent - 64))
      if (cut >= extent) return
      const shorter = peExtent(reader(bytes.subarray(0, cut)))
      t.true(shorter !== null && shorter.extent > cut, `cut at ${cut} of ${extent}`)
    }),
  )
})

test('bytes that are not PE are not read as PE', (t) => {
  for (const bytes of [Buffer.alloc(0), Buffer.from('MZ'), Buffer.from('\x7fELF'.padEnd(64, '\0'), 'latin1'), Buffer.alloc(128)]) t.is(peExtent(reader(bytes)), null)
  // An MZ header whose PE signature is wrong (a DOS program) is not PE either.
  const dos = Buffer.alloc(256)
  dos.writeUInt16LE(0x5a4d, 0)
  dos.writeUInt32LE(64, 0x3c)
  t.is(peExtent(reader(dos)), null)
})
