'use strict'
// Time limits in tests and fixtures guard against hangs; they are written for this machine
// running natively. Where everything runs several times slower for a known reason (qemu-user
// emulating arm64: a Node starts in ~1 s instead of ~40 ms), CI says by how much in
// INVOKE_TEST_TIME_SCALE, and every limit is multiplied by it: never guessed from measurements.
// Workers inherit the variable, so fixtures scale the same way.

const SCALE = Number(process.env.INVOKE_TEST_TIME_SCALE) > 0 ? Number(process.env.INVOKE_TEST_TIME_SCALE) : 1

/** `ms` as this run's time limit. */
const scaled = (ms) => ms * SCALE

module.exports = { scaled, SCALE }
