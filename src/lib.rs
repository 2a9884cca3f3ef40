#![deny(clippy::all)]

mod binding;
pub mod core;
pub mod driver;
pub mod protocol;
