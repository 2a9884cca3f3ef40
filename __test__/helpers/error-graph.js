'use strict'
// Graphs of errors for tests: built from a plain description, so that a worker builds the same
// graph from the copy it is sent as the test does from the original.

const fc = require('fast-check')

const CLASSES = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'AggregateError', 'Custom']
class Custom extends Error {}

/**
 * Descriptions of graphs of 1 to `maxNodes` errors: node i's `cause` and `errors` point at any
 * nodes, itself and earlier ones included, repeats allowed.
 */
const graphs = (maxNodes) =>
  fc
    .integer({ min: 1, max: maxNodes })
    .chain((n) =>
      fc.array(
        fc.record({
          type: fc.constantFrom(...CLASSES),
          message: fc.string({ maxLength: 8 }),
          cause: fc.option(fc.nat(n - 1), { nil: undefined }),
          errors: fc.array(fc.nat(n - 1), { maxLength: 4 }),
          code: fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
        }),
        { minLength: n, maxLength: n },
      ),
    )

/** The graph `specs` describes; its first node. */
function buildGraph(specs) {
  const nodes = specs.map(({ type, message }) => {
    if (type === 'AggregateError') return new AggregateError([], message)
    return new (type === 'Custom' ? Custom : globalThis[type])(message)
  })
  specs.forEach((spec, i) => {
    const node = nodes[i]
    if (spec.cause !== undefined) node.cause = nodes[spec.cause]
    if (spec.type === 'AggregateError') node.errors = spec.errors.map((j) => nodes[j])
    if (spec.code !== undefined) node.code = spec.code
  })
  return nodes[0]
}

module.exports = { graphs, buildGraph, Custom }
