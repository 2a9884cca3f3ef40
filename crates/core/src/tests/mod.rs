//! The scheduler's tests: the simulated world (`sim`), scenarios told in it, and property tests
//! over random worlds.

mod random;
mod scenarios;
mod sim;
