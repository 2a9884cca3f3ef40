'use strict'
// Tests that read what qemu-user does not emulate skip under it, saying why. qemu-user answers a
// guest's /proc/self/stat with its own fields, the process group and session read 0, and RSS
// (statm, the memory a worker is measured by) is the emulator's. CI names the emulator in
// INVOKE_TEST_EMULATED when it runs the suite under one; natively every test runs.

const test = require('ava')

const emulator = process.env.INVOKE_TEST_EMULATED || null

/** `test`, or, under emulation, a skipped test whose title says what it reads and why it cannot. */
function nativeTest(reads) {
  if (!emulator) return test
  return (title, ...rest) => test.skip(`${title} [skipped under ${emulator}: it reads ${reads}, which ${emulator} does not emulate]`, ...rest)
}

module.exports = { nativeTest, emulator }
