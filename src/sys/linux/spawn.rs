//! Starting a worker: a child process in a group of its own, with its two channels at the
//! protocol's descriptor numbers, nothing else inherited but stdio, and death with the parent.

use std::io;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use super::{start_in_own_group, worker_sockets, ExitWatch, WorkerSockets};
use crate::core::ExitStatus;
use crate::protocol::{CHANNEL_FD, HANDLE_FD};
use crate::sys::unix::{Channel, OutputPipe};

/// What to run as a worker, said without the OS.
pub struct WorkerCommand<'a> {
  pub program: &'a str,
  pub args: &'a [String],
  pub cwd: &'a str,
  /// Its whole environment.
  pub env: &'a [(String, String)],
  /// Pipe its stdout and stderr to the parent instead of sharing the parent's.
  pub capture_output: bool,
}

/// A started worker process, until it is reaped.
pub struct WorkerProcess {
  watch: ExitWatch,
  stdout: Option<OutputPipe>,
  stderr: Option<OutputPipe>,
}

/// Starts a worker and returns it with the parent's end of its channels.
pub fn spawn_worker(command: &WorkerCommand<'_>) -> io::Result<(WorkerProcess, Channel)> {
  let sockets = worker_sockets()?;
  let mut cmd = Command::new(command.program);
  cmd
    .args(command.args)
    .current_dir(command.cwd)
    .env_clear()
    .envs(command.env.iter().map(|(k, v)| (k, v)))
    .stdin(Stdio::null());
  if command.capture_output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
  } else {
    cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
  }
  start_in_own_group(&mut cmd, &sockets, [CHANNEL_FD, HANDLE_FD]);
  let mut child = cmd.spawn()?;
  let WorkerSockets { frames, handles, child_ends } = sockets;
  drop(child_ends);
  let stdout = child.stdout.take().and_then(|pipe| OutputPipe::from_owned_fd(OwnedFd::from(pipe)).ok());
  let stderr = child.stderr.take().and_then(|pipe| OutputPipe::from_owned_fd(OwnedFd::from(pipe)).ok());
  let process = WorkerProcess { watch: ExitWatch::new(child), stdout, stderr };
  Ok((process, Channel { frames, handles }))
}

impl WorkerProcess {
  pub fn id(&self) -> u32 {
    self.watch.pid()
  }

  /// Its captured stdout and stderr (once; none when output is shared).
  pub fn take_output(&mut self) -> (Option<OutputPipe>, Option<OutputPipe>) {
    (self.stdout.take(), self.stderr.take())
  }

  /// Resolves once it has exited (without reaping it: its pid stays its own until `reap`).
  pub async fn exited(&self) {
    self.watch.exited().await
  }

  pub fn reap(self) -> ExitStatus {
    self.watch.reap()
  }
}
