'use strict'
// The Redis connections of a remote pool: held (ref'd) only while a call is pending, so an idle
// pool never keeps the process alive, and watched, so that pending calls learn when Redis is gone.

class Connections {
  #clients = []
  #held = false
  #down = new Set()
  #onChange
  #foreign

  /**
   * `onChange()` hears when the first connection drops and when all are back. `foreign` is a
   * client the caller passed in: watched, but never unref'd or ended by us.
   */
  constructor(onChange, foreign = null) {
    this.#onChange = onChange
    this.#foreign = foreign
  }

  get up() {
    return this.#down.size === 0
  }

  /** Watches the raw client of a BullMQ Queue or QueueEventsProducer; resolves to a function that stops. */
  async watch(bullmqObject) {
    return this.watchClient(await bullmqObject.getBackend().client)
  }

  /** Watches an ioredis client; returns a function that stops. */
  watchClient(client) {
    this.#clients.push(client)
    const connected = () => this.#apply(client)
    const ready = () => {
      if (this.#down.delete(client) && this.#down.size === 0) this.#onChange(true)
    }
    const lost = () => {
      if (this.#down.has(client) || !this.#clients.includes(client)) return
      this.#down.add(client)
      if (this.#down.size === 1) this.#onChange(false)
    }
    client.on('connect', connected)
    client.on('ready', ready)
    client.on('close', lost)
    client.on('end', lost)
    if (client.status !== 'ready') lost()
    this.#apply(client)
    return () => {
      client.off('connect', connected)
      client.off('ready', ready)
      client.off('close', lost)
      client.off('end', lost)
      this.#clients.splice(this.#clients.indexOf(client), 1)
      ready()
    }
  }

  /** Ends every connection at once (ioredis stops reconnecting). */
  end() {
    for (const client of this.#clients) if (client !== this.#foreign) endClient(client)
  }

  /** Holds the process open (`true`) or lets it exit (`false`). */
  hold(held) {
    if (held === this.#held) return
    this.#held = held
    for (const client of this.#clients) this.#apply(client)
  }

  #apply(client) {
    if (client === this.#foreign) return
    const stream = client.stream
    if (stream === undefined || typeof stream.ref !== 'function') return
    if (this.#held) stream.ref()
    else stream.unref()
  }
}

/**
 * Ends an ioredis client now, whatever Redis does: its pending commands fail and it reaches
 * status `end`. `disconnect()` alone does not do it when Redis does not answer: a socket to a
 * stopped Redis half-closes and waits for it (so it is destroyed), and a client between two
 * reconnection attempts has no socket to close, so ioredis never fails its queued commands nor
 * says `end` (BullMQ's close waits for that `end` for ever): it is ended here as ioredis would.
 */
function endClient(client) {
  client.disconnect()
  client.stream?.destroy()
  if (client.status === 'reconnecting' || client.status === 'close') {
    client.flushQueue?.(new Error('Connection is closed.'))
    client.setStatus?.('end')
  }
}

module.exports = { Connections, endClient }
