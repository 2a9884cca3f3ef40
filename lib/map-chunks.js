'use strict'
// invoke.map's engine: reads items in chunks, sends each chunk as one call, and hands out the
// results a chunk at a time, in input order or as chunks settle. Reading, sending and handing out
// run independently, each moved by an event (a read ends, a chunk settles, the consumer asks, a
// token fires, the consumer stops), so a source that pauses never holds back results already
// in, and stopping never waits for the source or a chunk.

const { callMethod } = require('./pool-interface')
const { ownRealm } = require('./realm')
const { CHUNK_METHOD } = require('./worker/chunk')
const wire = require('./wire')
const { cancelToken, isCancelled, onCancel, cancelError } = require('./cancel')
const { itemReader } = require('./map-source')
const { chunkSizer } = require('./map-chunk-size')
const { readAnswer } = require('./map-answer')

/** A chunk call refused before it left for these reasons is sent again as two halves. */
const SPLIT_ON = new Set(['ERR_INVOKE_MESSAGE_TOO_LARGE', 'ERR_INVOKE_UNSERIALIZABLE'])
const DONE = Object.freeze({ value: undefined, done: true })
/** No error: an item, a source and a cancel may each end the map with undefined. */
const NONE = Symbol('none')

/**
 * An async iterator of arrays of results (what lib/map-results.js hands out one by one).
 * `target`: the proxy method's `{pool, moduleId, name, bound}`; `o`: checked map options with
 * `concurrency` resolved.
 */
class ChunkWindow {
  #target
  #o
  #source
  #sizer
  #callOptions
  /** Cancels every chunk call still out when the map ends, however it ends. */
  #stop = cancelToken()
  #listeners = []
  /** Chunks in input order (ordered) or in the order they settled (unordered), from `#head` on. */
  #queue = []
  #head = 0
  /** 1 while the consumer still holds the results of the last chunk handed out (until its next next()). */
  #handedOut = 0
  #running = 0
  #reading = false
  #exhausted = false
  /** Set when a chunk has an item that will end the iteration: nothing more is read. */
  #failing = false
  /** Unordered, the source's error waits here for the chunks out: their results come first. */
  #sourceError = null
  /** What the consumer's next next() rejects with (a cancel, a failing item's error), once. */
  #ending = NONE
  #over = false
  /** The consumer's next() waiting for a chunk: `{resolve, reject}`. */
  #waiter = null
  /** The cancel a token fired, if one did. */
  cancelled = null

  constructor(target, items, o) {
    this.#target = target
    this.#o = o
    this.#source = itemReader(items)
    this.#sizer = chunkSizer(o.chunk)
    const { cancelToken: boundToken, ...boundRest } = target.bound
    this.#callOptions = { ...boundRest, cancelToken: this.#stop }
    for (const token of [o.signal, o.cancelToken, boundToken]) {
      // Once one has fired, listening to the others would only leave listeners behind.
      if (token === undefined || this.#over) continue
      try {
        if (isCancelled(token)) this.#cancel(cancelError(token))
        else this.#listeners.push(onCancel(token, () => this.#cancel(cancelError(token))))
      } catch (thrown) {
        // A token whose properties throw (a getter, a Proxy): the iteration rejects with that.
        this.#cancel(thrown)
      }
    }
  }

  next() {
    if (this.#waiter !== null) return Promise.reject(new Error('invoke-parallel: a map engine takes one next() at a time'))
    if (this.#over && this.#ending === NONE) return Promise.resolve(DONE)
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject }
      this.#handedOut = 0
      this.#pump()
      this.#answer()
    })
  }

  /** Ends the map at once: the source's return() is called and the chunk calls out are cancelled. */
  return(value) {
    this.#end()
    this.#ending = NONE
    this.#waiter?.resolve(DONE)
    this.#waiter = null
    return Promise.resolve({ value, done: true })
  }

  throw(error) {
    this.return()
    return Promise.reject(error)
  }

  #cancel(reason) {
    if (this.#over) return
    this.cancelled = reason
    this.#ending = reason
    this.#end()
    this.#answer()
  }

  #end() {
    if (this.#over) return
    this.#over = true
    this.#stop.resolve()
    for (const stopListening of this.#listeners) stopListening()
    this.#source.close()
  }

  /** Reads and sends chunks while there is room: calls out, and chunks held for the consumer. */
  #pump() {
    const { concurrency } = this.#o
    // Chunks read and not yet handed out, settled ones waiting their turn included: what memory holds.
    const window = 2 * concurrency
    while (!this.#reading && !this.#exhausted && !this.#failing && !this.#over && this.#running < concurrency && this.#held() < window) {
      let batch
      try {
        batch = this.#source.read(this.#sizer.size())
      } catch (error) {
        this.#sourceFailed(error)
        return
      }
      if (Array.isArray(batch)) {
        this.#took(batch)
        continue
      }
      this.#reading = true
      batch.then(
        (items) => {
          this.#reading = false
          if (this.#over) return
          this.#took(items)
          this.#pump()
          this.#answer()
        },
        (error) => {
          this.#reading = false
          if (this.#over) return
          this.#sourceFailed(error)
          this.#answer()
        },
      )
      return
    }
  }

  /** Ordered, the queue holds the running chunks too; unordered, only the settled ones. */
  #held() {
    return this.#queue.length - this.#head + this.#handedOut + (this.#o.ordered ? 0 : this.#running)
  }

  #took(items) {
    if (items.length === 0) {
      this.#exhausted = true
      return
    }
    const chunk = { size: items.length, settled: false, values: null, reasons: null, error: NONE, calls: 0 }
    if (this.#o.ordered) this.#queue.push(chunk)
    this.#running++
    this.#send(chunk, items, 0)
  }

  /** The source threw: its error comes after the results of the items read before it. */
  #sourceFailed(error) {
    this.#exhausted = true
    this.#failing = true
    const chunk = { size: 0, settled: true, values: null, reasons: null, error, calls: 0 }
    if (this.#o.ordered || this.#running === 0) this.#queue.push(chunk)
    else this.#sourceError = chunk
  }

  /** One call for `items`, the chunk's items from `offset` on. */
  #send(chunk, items, offset) {
    chunk.calls++
    const { pool, moduleId, name } = this.#target
    const timeout = this.#o.timeout ?? this.#callOptions.timeout
    const options = timeout === undefined ? this.#callOptions : { ...this.#callOptions, timeout: timeout * items.length }
    let call
    try {
      call = pool[callMethod](moduleId, CHUNK_METHOD, [name, items], options)
    } catch (error) {
      call = Promise.reject(error)
    }
    Promise.resolve(call)
      .then((answer) => readAnswer(answer, items.length))
      .then(
        (outcomes) => {
          this.#sizer.observe(outcomes.busy, items.length, outcomes.fill)
          this.#takeOutcomes(chunk, offset, items.length, outcomes)
        },
        (error) => {
          // The pool may be another copy's (jest's test files share one): this copy's classes.
          ownRealm(error)
          // The pool is full (maxQueue), of this map's chunks or others' calls: the chunk waits
          // for room and goes again, as a producer awaiting whenRoom() would; a map is not refused.
          if (error?.code === 'ERR_INVOKE_QUEUE_FULL' && typeof pool.whenRoom === 'function' && !this.#over) {
            return Promise.race([pool.whenRoom(), this.#stop]).then(() => this.#send(chunk, items, offset))
          }
          if (SPLIT_ON.has(error?.code) && !this.#over) {
            if (items.length > 1) return this.#split(chunk, items, offset)
            return this.#failItems(chunk, offset, 1, itemError(error, items[0]))
          }
          // A chunk call answers each item's outcome; it rejects as a whole only for the pool's own
          // reasons (a code of this library's) or for an error its worker did not catch (a timer's
          // throw, an unhandled rejection) in the flow of one of its items. Which item is not
          // known: halves are sent again, down to the item at fault, as separate calls would fail
          // that item alone and run the others again on another worker.
          if (items.length > 1 && !this.#over && !isPoolFailure(error)) return this.#split(chunk, items, offset)
          // Its workers died under it and the retries are spent: an item ends its worker with no
          // error to pin it on (process.exit(), a signal, a heap that ran out), and would fail
          // alone as a call of its own. Split it too, down to that item, unless the caller asked
          // for no retries. (Deaths pinned on another call, as when halves share workers with a
          // half at fault, cost no attempt: the core excuses them.)
          if (error?.code === 'ERR_INVOKE_WORKER_DIED' && items.length > 1 && !this.#over && !this.#callOptions.noRetry) {
            return this.#split(chunk, items, offset)
          }
          return this.#failItems(chunk, offset, items.length, error)
        },
      )
      .then(() => {
        if (--chunk.calls === 0) this.#settled(chunk)
      })
  }

  /** A chunk the pool refused as too large or unsendable, sent again as two halves, each in its place. */
  #split(chunk, items, offset) {
    const middle = items.length >> 1
    this.#send(chunk, items.slice(0, middle), offset)
    this.#send(chunk, items.slice(middle), offset + middle)
  }

  #takeOutcomes(chunk, offset, count, { values, reasons }) {
    if (offset === 0 && count === chunk.size) chunk.values = values
    else {
      chunk.values ??= new Array(chunk.size).fill(undefined)
      for (let i = 0; i < count; i++) chunk.values[offset + i] = values[i]
    }
    if (reasons !== null) for (const [i, reason] of reasons) this.#reason(chunk, offset + i, reason)
  }

  #failItems(chunk, offset, count, error) {
    if (offset === 0 && count === chunk.size) chunk.error = error
    else for (let i = 0; i < count; i++) this.#reason(chunk, offset + i, error)
  }

  #reason(chunk, index, reason) {
    ;(chunk.reasons ??= new Map()).set(index, reason)
  }

  #settled(chunk) {
    chunk.settled = true
    this.#running--
    if (!this.#o.settle && (chunk.error !== NONE || chunk.reasons !== null)) this.#failing = true
    if (!this.#o.ordered) this.#queue.push(chunk)
    if (this.#running === 0 && this.#sourceError !== null) {
      this.#queue.push(this.#sourceError)
      this.#sourceError = null
    }
    this.#pump()
    this.#answer()
  }

  /** Answers a waiting next() if there is anything to answer it with. */
  #answer() {
    const waiter = this.#waiter
    if (waiter === null) return
    if (this.#ending !== NONE) {
      const error = this.#ending
      this.#ending = NONE
      this.#waiter = null
      return waiter.reject(error)
    }
    if (this.#over) {
      this.#waiter = null
      return waiter.resolve(DONE)
    }
    const chunk = this.#queue[this.#head]
    if (chunk !== undefined && chunk.settled) {
      this.#queue[this.#head++] = undefined
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head)
        this.#head = 0
      }
      const { results, failure } = resultsOf(chunk, this.#o.settle)
      if (failure !== NONE) {
        // Nothing more is read, and what is still out is cancelled; the error comes after the results.
        this.#ending = failure
        this.#end()
      }
      if (results.length > 0) {
        this.#waiter = null
        this.#handedOut = 1
      }
      this.#pump()
      if (results.length === 0) return this.#answer()
      return waiter.resolve({ value: results, done: false })
    }
    if (this.#exhausted && !this.#reading && this.#running === 0 && this.#head === this.#queue.length) {
      this.#end()
      return this.#answer()
    }
    return undefined
  }
}

function reasonOf(chunk, i) {
  if (chunk.error !== NONE) return chunk.error
  // `has`, not `?? NONE`: an item may fail with undefined.
  return chunk.reasons !== null && chunk.reasons.has(i) ? chunk.reasons.get(i) : NONE
}

/**
 * What a settled chunk gives the consumer: with `settle`, an outcome per item; else its values
 * up to the first failing item, and that item's error as `failure`. The source's error is a
 * chunk of no items with an error: it is a failure, settle or not.
 */
function resultsOf(chunk, settle) {
  if (chunk.size === 0) return { results: [], failure: chunk.error }
  if (chunk.error === NONE && chunk.reasons === null && !settle) return { results: chunk.values, failure: NONE }
  const results = []
  for (let i = 0; i < chunk.size; i++) {
    const reason = reasonOf(chunk, i)
    if (reason === NONE) results.push(settle ? { status: 'fulfilled', value: chunk.values[i] } : chunk.values[i])
    else if (settle) results.push({ status: 'rejected', reason })
    else return { results, failure: reason }
  }
  return { results, failure: NONE }
}

/**
 * The error of one item the pool refused: for an item that cannot cross, the error locates the
 * culprit within the item (`item.f is a function`), not within the chunk call's arguments.
 */
/** An error of the pool's (retry, timeout, cancel, closed, a bad answer) or of its checks, not the worker's code. */
function isPoolFailure(error) {
  let code
  try {
    code = error?.code
  } catch {
    return false
  }
  return typeof code === 'string' && (code.startsWith('ERR_INVOKE_') || code.startsWith('ERR_INVALID_'))
}

function itemError(error, item) {
  if (error.code !== 'ERR_INVOKE_UNSERIALIZABLE') return error
  try {
    wire.encode(item, 'item')
  } catch (located) {
    return wire.unreadable(located, 'item')
  }
  return error
}

module.exports = { ChunkWindow }
