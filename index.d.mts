// Types for the ESM entry (index.mjs): the same API as index.d.ts, as named exports and as the
// default export, declared once there so that ESM and CommonJS callers share one set of classes.
import * as invoke from './index.js'

export * from './index.js'
export default invoke
