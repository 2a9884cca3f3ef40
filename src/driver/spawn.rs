use std::io;
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};

use crate::protocol::{POOL_ID_ENV, WORKER_ID_ENV};
use crate::sys;

/// How to start a worker process.
#[derive(Clone, Debug)]
pub struct SpawnConfig {
  pub exec_path: String,
  pub args: Vec<String>,
  pub cwd: String,
  pub env: Vec<(String, String)>,
  /// Pipe the workers' stdout and stderr to the parent instead of sharing the parent's.
  pub capture_output: bool,
  /// Largest frame body accepted from a worker; a larger one breaks the protocol.
  pub max_message_size: usize,
  /// Which of this process's pools the workers are in (their `poolId`).
  pub pool_id: u32,
}

/// The fd number the worker finds its frame channel on.
pub const CHANNEL_FD: i32 = crate::protocol::CHANNEL_FD;
/// The fd number the worker finds its handle channel on (descriptors passed with frames).
pub const HANDLE_CHANNEL_FD: i32 = crate::protocol::HANDLE_FD;

/// The parent's ends of a worker's two channels.
pub struct WorkerChannels {
  pub frames: OwnedFd,
  pub handles: OwnedFd,
}

/// Starts a worker with fresh socketpairs as its fds 3 (frames, a stream) and 4 (handles,
/// datagrams, so each message of descriptors stays whole), told its `slot` in the pool and its
/// pool in its environment; returns the parent's ends.
pub fn spawn_worker(config: &SpawnConfig, slot: u32) -> io::Result<(Child, WorkerChannels)> {
  let sockets = sys::worker_sockets()?;
  let mut cmd = Command::new(&config.exec_path);
  cmd
    .args(&config.args)
    .current_dir(&config.cwd)
    .env_clear()
    .envs(config.env.iter().map(|(k, v)| (k, v)))
    .env(WORKER_ID_ENV, slot.to_string())
    .env(POOL_ID_ENV, config.pool_id.to_string())
    .stdin(Stdio::null());
  if config.capture_output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
  } else {
    cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
  }
  sys::start_in_own_group(&mut cmd, &sockets, [CHANNEL_FD, HANDLE_CHANNEL_FD]);
  let child = cmd.spawn()?;
  let sys::WorkerSockets { frames, handles, child_ends } = sockets;
  drop(child_ends);
  Ok((child, WorkerChannels { frames, handles }))
}
