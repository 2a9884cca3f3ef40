#![deny(clippy::all)]

mod binding;
pub mod core;
pub mod driver;
pub mod fdpass;
pub mod protocol;
