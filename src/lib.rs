#![deny(clippy::all)]

mod binding;
mod call_function;
pub mod core;
pub mod driver;
pub mod fdpass;
pub mod protocol;
