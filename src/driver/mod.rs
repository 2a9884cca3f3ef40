//! Carries out the scheduler's actions with real processes, sockets and timers, on one I/O thread.

mod actor;
mod exit_watch;
mod runtime;
mod settle;
mod spawn;
mod timers;
mod worker_link;
mod worker_output;

pub use actor::start_pool;
pub use settle::{SettleQueue, Settled};
pub use spawn::SpawnConfig;
