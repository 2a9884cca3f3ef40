'use strict'
// Which of the parent's Node flags a worker inherits. A debugger flag would make every worker
// fight over one port, and a flag that says what to run (`node -pe '…'`, `--test`, `--watch`)
// would make every worker run the parent's code instead of the worker shim — which starts more
// workers. Node's parser (src/node_options.cc) combines no short options except the one alias
// `-pe`, takes `--name=value` only for long options, and allows `_` for `-` in long names.

/** Short flags, exactly as Node spells them. */
const SHORT = new Set(['-e', '-p', '-pe', '-i', '-c'])
/** Long flags (after `--`, dashes normalised), and families by prefix. */
const LONG = new Set(['eval', 'print', 'interactive', 'check', 'input-type', 'test', 'watch', 'inspect', 'debug'])
const LONG_PREFIXES = ['test-', 'watch-', 'inspect-', 'debug-']

function isDropped(arg) {
  if (SHORT.has(arg)) return true
  if (!arg.startsWith('--')) return false
  const equals = arg.indexOf('=')
  const name = (equals === -1 ? arg.slice(2) : arg.slice(2, equals)).replaceAll('_', '-')
  return LONG.has(name) || LONG_PREFIXES.some((prefix) => name.startsWith(prefix))
}

/**
 * `args` (an execArgv or NODE_OPTIONS split into words) minus the flags above and their values.
 * execArgv holds only options and their values, and Node refuses a value that starts with `-`,
 * so a word that does not start with `-` right after a dropped flag given without `=` is that
 * flag's value (`-e code`, `-p code`, `--input-type module`, `--inspect-port 9229`).
 */
function inheritable(args) {
  const kept = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (!isDropped(arg)) {
      kept.push(arg)
      continue
    }
    const next = args[i + 1]
    if (!arg.includes('=') && next !== undefined && !next.startsWith('-')) i++
  }
  return kept
}

module.exports = { inheritable }
