//! The scheduler: a pure state machine with no I/O and no clock. The driver feeds it [`Event`]s
//! and carries out the [`Action`]s it returns.

mod call_queue;
mod config;
mod event;
mod failure;
mod id_hash;
mod scheduler;
mod stats;
mod worker;

pub use config::PoolConfig;
pub use event::{
  Action, CallId, CallOptions, Event, ExitStatus, Job, ModuleId, Outcome, Piece, Signal, Timer, WorkerId,
};
pub use failure::{Failure, FailureKind};
pub use id_hash::{IdMap, IdSet};
pub use scheduler::Scheduler;
pub use stats::Stats;

#[cfg(test)]
mod tests;
