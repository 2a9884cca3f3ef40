#![deny(clippy::all)]
// Unsafe code is fenced: every unsafe operation sits in a block of its own with a SAFETY line
// saying why it holds, unsafe fns included.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod binding;
mod call_function;
pub mod core;
pub mod driver;
pub mod protocol;
pub mod sys;
mod teardown;
mod worker_binding;
