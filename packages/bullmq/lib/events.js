'use strict'
// The one event this package adds to a queue's event stream (through BullMQ's QueueEventsProducer):
// a parent cancelled a call whose job a host is running. Hosts listen and abort it.

const CANCEL_EVENT = 'invoke-parallel-cancel'

module.exports = { CANCEL_EVENT }
