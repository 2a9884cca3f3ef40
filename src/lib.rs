#![deny(clippy::all)]

mod binding;
mod call_function;
pub mod driver;
pub mod fdpass;

// The sans-IO layers are crates of their own, so the compiler keeps them free of the OS, N-API
// and unsafe code; the driver reaches them under the names it always used.
pub use invoke_parallel_core as core;
pub use invoke_parallel_protocol as protocol;
