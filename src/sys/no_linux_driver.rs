//! Where the Linux driver cannot run (every OS but Linux): its entry points exist, so the driver
//! compiles everywhere, and refuse; pools there run on the portable driver.

use std::io;

use crate::core::ExitStatus;

/// Whether this OS has the Linux driver (the default where it does).
pub const HAS_LINUX_DRIVER: bool = false;

pub struct WorkerCommand<'a> {
  pub program: &'a str,
  pub args: &'a [String],
  pub cwd: &'a str,
  pub env: &'a [(String, String)],
  pub capture_output: bool,
}

/// Never made: `spawn_worker` always refuses.
pub enum WorkerProcess {}

pub fn spawn_worker<C>(_command: &WorkerCommand<'_>) -> io::Result<(WorkerProcess, C)> {
  Err(io::Error::new(io::ErrorKind::Unsupported, "the linux driver runs on Linux only: use the portable driver"))
}

impl WorkerProcess {
  pub fn id(&self) -> u32 {
    match *self {}
  }

  pub fn take_output<P>(&mut self) -> (Option<P>, Option<P>) {
    match *self {}
  }

  pub async fn exited(&self) {
    match *self {}
  }

  pub fn reap(self) -> ExitStatus {
    match self {}
  }
}
