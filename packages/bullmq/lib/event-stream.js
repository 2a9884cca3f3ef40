'use strict'
// A reader of a queue's event stream (the Redis stream BullMQ's QueueEvents reads), used instead
// of QueueEvents because anyone who can write to the queue's Redis can add an entry, and
// QueueEvents stops at the first one it cannot parse (its `JSON.parse` throws out of its read
// loop; each new reader resumes before the entry and stops again). This one reads past such an
// entry: it counts it, reports it through `onBad`, and goes on with the next. An entry whose id
// leaves no id after it (lib/stream-ids.js) is deleted as well, and the stream's ids given back:
// the reader does not move past it, so it waits where BullMQ's next entries then come.

const { badEvent } = require('./errors')
const { endClient } = require('./connections')
const { atEndOfIds, farAhead, repairStream } = require('./stream-ids')

/** Ms one blocking read waits for new entries before it reads again. */
const BLOCK_MS = 5000
/** The same, while the last entry read is far ahead of the clock (it may be deleted: see #rewindIfReset). */
const AHEAD_BLOCK_MS = 250
/** Ms between reads after one failed (Redis down: ioredis refuses commands at once). */
const RETRY_MS = 200
/** Entries one read takes at most. */
const BATCH = 1000

/**
 * An entry's fields as an object, with `returnvalue` parsed for a `completed` event, or null when
 * its event is not in `wanted` (its fields are not read further: a host does not parse results).
 * Throws a TypeError for an entry that is not an event (fields not in pairs, no event name, a job
 * event without a job id, a result that is not JSON).
 */
function parseEntry(fields, wanted) {
  if (!Array.isArray(fields) || fields.length % 2 !== 0) throw new TypeError('its fields are not name-value pairs')
  const event = {}
  for (let i = 0; i < fields.length; i += 2) {
    if (typeof fields[i] !== 'string' || typeof fields[i + 1] !== 'string') throw new TypeError('a field is not text')
    event[fields[i]] = fields[i + 1]
  }
  if (typeof event.event !== 'string') throw new TypeError('it names no event')
  if (!wanted.has(event.event)) return null
  if (typeof event.jobId !== 'string') throw new TypeError(`its ${event.event} event names no job`)
  if (event.event === 'completed') {
    try {
      event.returnvalue = JSON.parse(event.returnvalue)
    } catch (err) {
      throw Object.assign(new TypeError(`its result is not JSON (${err.message})`), { jobId: event.jobId })
    }
  }
  return event
}

class EventStream {
  #client
  #key
  #id
  #wanted
  #onEvent
  #onBad
  #onError
  #closed = false
  #bad = 0
  #failing = false
  /** The id of the last entry read that is not far ahead of the clock: where a rewind goes. */
  #resume

  /**
   * Reads stream `key` through `client` (a connection of its own: reads block) from after entry
   * id `from`. `onEvent(event, id)` hears each entry whose event is in `wanted`; `onBad(error)`
   * each one that is not an event (an error with code ERR_INVOKE_BAD_EVENT); `onError(err)` the
   * first read that failed in a row (the reader tries again), and a listener that threw.
   */
  constructor(client, key, from, { wanted, onEvent, onBad, onError }) {
    this.#client = client
    this.#key = key
    this.#id = from
    this.#resume = farAhead(from) ? '0-0' : from
    this.#wanted = new Set(wanted)
    this.#onEvent = onEvent
    this.#onBad = onBad
    this.#onError = onError
    this.#read()
  }

  /** The id of the last entry read (where a new reader resumes). */
  get lastId() {
    return this.#id
  }

  /** Entries read that were not events. */
  get bad() {
    return this.#bad
  }

  async #read() {
    while (!this.#closed) {
      let reply
      try {
        const block = this.#id === this.#resume ? BLOCK_MS : AHEAD_BLOCK_MS
        reply = await this.#client.xread('COUNT', BATCH, 'BLOCK', block, 'STREAMS', this.#key, this.#id)
      } catch (err) {
        if (this.#closed) return
        // Once per outage: ioredis refuses every read until Redis is back.
        if (!this.#failing) this.#onError(err)
        this.#failing = true
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref())
        continue
      }
      if (this.#closed) return
      this.#failing = false
      if (reply === null) {
        await this.#rewindIfReset()
        continue
      }
      let exhausting = false
      for (const [id, fields] of reply?.[0]?.[1] ?? []) {
        // Not moved past: deleted below, and the ids given back (an event in it is heard all the same).
        if (atEndOfIds(id)) {
          exhausting = true
          this.#take(id, fields, 'its id is at the end of the id space, which no clock writes: deleted')
          continue
        }
        this.#id = id
        if (!farAhead(id)) this.#resume = id
        this.#take(id, fields)
      }
      if (exhausting) {
        await this.#repair()
        await this.#rewindIfReset()
      }
    }
  }

  /** Deletes the entries at the end of the id space; if it cannot, reads past them. */
  async #repair() {
    try {
      await repairStream(this.#client, this.#key)
    } catch (err) {
      if (this.#closed) return
      this.#onError(err)
      const [last] = await this.#client.xrevrange(this.#key, '+', '-', 'COUNT', 1).catch(() => [])
      if (last !== undefined && compareIds(last[0], this.#id) > 0) this.#id = last[0]
    }
  }

  /**
   * After a read that found nothing: a stream deleted and made again (or Redis restarted on a
   * clock behind the last entry's) has ids below the last one read, and a reader waiting after
   * that id would hear nothing more. Such a stream is read again from its start; after entries
   * far ahead of the clock (deleted by lib/stream-ids.js, or with their stream), from the last
   * entry read before them.
   */
  async #rewindIfReset() {
    let last
    try {
      ;[last] = await this.#client.xrevrange(this.#key, '+', '-', 'COUNT', 1)
    } catch {
      return // the next read says what failed
    }
    if (last === undefined || compareIds(last[0], this.#id) >= 0) return
    const ahead = this.#resume !== this.#id
    this.#id = ahead && compareIds(this.#resume, last[0]) <= 0 ? this.#resume : '0-0'
    this.#resume = this.#id
  }

  /** `odd`: why the entry is reported even when it is an event. */
  #take(id, fields, odd) {
    let event
    try {
      event = parseEntry(fields, this.#wanted)
    } catch (err) {
      this.#reportBad(id, odd === undefined ? err.message : `${err.message}; ${odd}`, err.jobId)
      return
    }
    if (odd !== undefined) this.#reportBad(id, odd, event?.jobId)
    if (event === null) return
    try {
      this.#onEvent(event, id)
    } catch (err) {
      // A listener's bug must not stop the reader either.
      this.#onError(err)
    }
  }

  #reportBad(id, why, jobId) {
    this.#bad++
    this.#onBad(badEvent(this.#key, id, why, this.#bad, jobId))
  }

  /** Stops reading and ends the connection. */
  close() {
    this.#closed = true
    endClient(this.#client)
  }
}

/** Compares two stream entry ids ("ms-seq"): negative, zero or positive. */
function compareIds(a, b) {
  const [am, as] = a.split('-').map(BigInt)
  const [bm, bs] = b.split('-').map(BigInt)
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1
}

/** A connection for a reader: a duplicate of `client` (BullMQ's own), which blocks without retry limit. */
function readerClient(client) {
  const reader = client.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true })
  // Its failed reads go to onError; without a listener, ioredis prints each failed reconnection.
  reader.on('error', () => {})
  return reader
}

module.exports = { EventStream, parseEntry, readerClient }
