//! What the addon tells JS about the process it was loaded into, before any pool is made.

use napi_derive::napi;

/// The libuv functions the addon needs that this process does not export (none in Node; Bun and
/// Deno lack some, or abort when one is called). Only looked up, never called.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn missing_libuv() -> Vec<String> {
  crate::driver::missing_libuv_functions().iter().map(|name| name.to_string()).collect()
}
