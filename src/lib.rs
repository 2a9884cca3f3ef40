#![deny(clippy::all)]
// Unsafe code is fenced: every unsafe operation sits in a block of its own with a SAFETY line
// saying why it holds, unsafe fns included.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod binding;
mod call_function;
pub mod driver;
mod host_binding;
pub mod sys;
mod teardown;
mod worker_binding;

// The sans-IO layers are crates of their own, so the compiler keeps them free of the OS, N-API
// and unsafe code; the driver reaches them under the names it always used.
pub use invoke_parallel_core as core;
pub use invoke_parallel_protocol as protocol;
