'use strict'
// poolifier wants its worker file to construct a worker object with the task functions
// (ClusterWorker for its cluster pools); the task name picks the function.
//
// poolifier awaits a task's result only when the task function itself is an `async function`
// (it checks fn.constructor); a plain function that returns a promise has the promise itself
// serialized, which arrives as `{}`. work.js's `sleep` is such a function, so it is wrapped in an
// async function here; `echo` and `spin` are synchronous and go in as they are.

const { ClusterWorker } = require('poolifier')
const { echo, spin, sleep } = require('../work')

module.exports = new ClusterWorker({ echo, spin, sleep: async (ms) => sleep(ms) })
