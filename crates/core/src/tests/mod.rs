//! The scheduler's tests: the simulated world (`sim`), scenarios told in it, property tests
//! over random worlds, and arbitrary worker bytes through the codec into the scheduler (`frames`).

mod blame;
mod closing_streams;
mod dispatch;
mod frames;
mod loads;
mod random;
mod scenarios;
mod sim;
mod stall;
mod stall_mixes;
mod stall_saturated;
mod timing;
