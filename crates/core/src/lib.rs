//! The scheduler: a pure state machine with no I/O and no clock. The driver feeds it [`Event`]s
//! and carries out the [`Action`]s it returns; workers speak to it in typed messages
//! ([`FromWorker`] in, [`ToWorker`] out), never in bytes.

#![forbid(unsafe_code)]

mod call;
mod call_queue;
mod config;
mod event;
mod exit;
mod failure;
mod histogram;
mod id_hash;
mod pace;
mod scheduler;
mod stats;
mod worker;

pub use call_queue::Priority;
pub use config::PoolConfig;
pub use event::{Action, CallId, CallOptions, Event, Job, MethodId, ModuleId, Outcome, Piece, Signal, Timer, WorkerId};
pub use exit::{describe_exit, ExitSignal, ExitStatus};
pub use failure::{Failure, FailureKind};
pub use histogram::{Histogram, Summary};
pub use id_hash::{IdMap, IdSet};
pub use invoke_parallel_protocol::{FromWorker, Handles, ToWorker};
pub use pace::{MethodKey, Pace};
pub use scheduler::Scheduler;
pub use stats::Stats;

#[cfg(test)]
mod tests;
