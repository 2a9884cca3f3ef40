'use strict'
// Errors of the remote pool, with the codes a local pool uses where the failure is the same.

const { Retry } = require('invoke-parallel')

function coded(Class, code, message) {
  const error = new Class(`invoke-parallel-bullmq: ${message}`)
  error.code = code
  return error
}

const poolClosed = () => coded(Error, 'ERR_INVOKE_POOL_CLOSED', 'the pool is closed')
const queueFull = (max) =>
  coded(Error, 'ERR_INVOKE_QUEUE_FULL', `the pool has ${max} calls pending (maxQueue); wait for whenRoom()`)
const tooLarge = (what, size, max) =>
  coded(RangeError, 'ERR_INVOKE_MESSAGE_TOO_LARGE', `the ${what} cannot be sent: ${size} bytes encoded, more than maxMessageSize (${max})`)
const unsupported = (what) =>
  coded(TypeError, 'ERR_INVOKE_REMOTE_UNSUPPORTED', `${what} cannot cross a remote pool (not supported yet)`)
const redisUnavailable = (ms, why) =>
  coded(Error, 'ERR_INVOKE_REDIS_UNAVAILABLE', `Redis has been unreachable for ${ms} ms${why ? ` (${why})` : ''}`)
/** A host's close that ended its connections because Redis did not take back `jobs`' results within `ms`. */
const closedWithoutRedis = (ms, jobs) => {
  const which = jobs.length === 0 ? 'its connections' : `the results of jobs ${jobs.join(', ')} (they run again elsewhere once their locks expire)`
  const error = coded(Error, 'ERR_INVOKE_REDIS_UNAVAILABLE', `the host closed without Redis taking back ${which} within closeTimeout (${ms} ms)`)
  error.jobs = jobs
  return error
}
/** A host's forced close ended the calls of `jobs` (given up: they run again elsewhere, within `runs`). */
const hostClosed = (jobs) => {
  const which = jobs.length === 0 ? 'no call was running' : `it ended the calls of jobs ${jobs.join(', ')} (they run again on another host, each run counted against runs)`
  const error = coded(Error, 'ERR_INVOKE_POOL_CLOSED', `the host was closed by force: ${which}`)
  error.jobs = jobs
  return error
}
/** An option or argument of the wrong type, or that cannot be read (the core's codes for them). */
const badArgument = (message, code = 'ERR_INVALID_ARG_TYPE') => coded(TypeError, code, message)
const badReply = (why) => coded(Error, 'ERR_INVOKE_BAD_REPLY', `a host sent a reply that is not one: ${why}`)
/** A job whose data a parent does not write (hosts answer it with this; it is not retried). */
const badJob = (why) => coded(TypeError, 'ERR_INVOKE_BAD_JOB', `the job is not a call: ${why}`)
/** An entry of the queue's event stream that is not an event (read past, counted). */
const badEvent = (key, id, why, count, jobId) => {
  const error = coded(Error, 'ERR_INVOKE_BAD_EVENT', `entry ${id} of ${key} is not an event (${why}); read past it (${count} so far)`)
  error.entry = id
  error.count = count
  if (jobId !== undefined) error.jobId = jobId
  return error
}
/** No host started the call within the pool's queueTimeout; its job is removed. */
const queueTimeout = (ms) =>
  coded(Error, 'ERR_INVOKE_QUEUE_TIMEOUT', `no host started the call within queueTimeout (${ms} ms); its job is removed`)
const jobLost = (id) =>
  coded(Error, 'ERR_INVOKE_JOB_LOST', `job ${id} is gone from the queue without a result (removed, or evicted from Redis)`)
const jobFailed = (id, reason) => coded(Error, 'ERR_INVOKE_JOB_FAILED', `job ${id} failed in the queue: ${reason}`)

/** Redis itself, or BullMQ, refused or lost the job before any host answered. */
const queueError = (cause) => {
  const error = coded(Error, 'ERR_INVOKE_QUEUE', `the queue refused the job: ${cause?.message ?? cause}`)
  error.cause = cause
  return error
}

/** The call ran `runs` times and each host running it died or lost Redis. */
const hostsDied = (id, reason) =>
  new Retry(`invoke-parallel-bullmq: job ${id} was not finished by any of the hosts that ran it (${reason})`)

/** A host's answer to a re-delivered `noRetry` job: it never starts such a job twice. */
const notRerun = (runs) =>
  new Retry(`invoke-parallel-bullmq: the call's host stopped before it finished, and noRetry forbids a run ${runs}`)

function moduleNotFound(name) {
  const error = new Error(`Cannot find module '${name}' (not in the host's allowlist)`)
  error.code = 'MODULE_NOT_FOUND'
  return error
}

module.exports = {
  poolClosed,
  queueFull,
  tooLarge,
  unsupported,
  redisUnavailable,
  closedWithoutRedis,
  hostClosed,
  badArgument,
  badReply,
  badEvent,
  badJob,
  jobLost,
  queueTimeout,
  jobFailed,
  queueError,
  hostsDied,
  notRerun,
  moduleNotFound,
}
