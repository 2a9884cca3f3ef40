'use strict'
// Runs a function in a microtask through a promise reaction rather than `queueMicrotask`: test
// runners' fake timers (jest's, @sinonjs/fake-timers) replace `queueMicrotask`, and a call made
// with a cancel token would then wait for the test to advance its clock. Promise reactions keep
// the same first-in, first-out order and cannot be faked. What `fn` throws is an unhandled
// rejection, which ends the process as an uncaught exception would.

const resolved = Promise.resolve()

function microtask(fn) {
  resolved.then(fn)
}

module.exports = { microtask }
