use std::io;

use super::portable_worker::PARENT_ENV;
use crate::protocol::{POOL_ID_ENV, WORKER_ID_ENV};
use crate::sys::{self, Channel, WorkerCommand, WorkerProcess};

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

/// Starts a worker told its `slot` in the pool and its pool in its environment; returns it with
/// the parent's end of its channel.
pub fn spawn_worker(config: &SpawnConfig, slot: u32) -> io::Result<(WorkerProcess, Channel)> {
  let env = worker_env(config, slot);
  sys::spawn_worker(&WorkerCommand {
    program: &config.exec_path,
    args: &config.args,
    cwd: &config.cwd,
    env: &env,
    capture_output: config.capture_output,
  })
}

/// The worker's whole environment: the pool's, and its slot and pool.
pub fn worker_env(config: &SpawnConfig, slot: u32) -> Vec<(String, String)> {
  let mut env = config.env.clone();
  // Ours to set: a stale copy (a pool made in a worker of another pool) must not pass for them.
  env.retain(|(name, _)| name != WORKER_ID_ENV && name != POOL_ID_ENV && name != PARENT_ENV);
  env.push((WORKER_ID_ENV.to_string(), slot.to_string()));
  env.push((POOL_ID_ENV.to_string(), config.pool_id.to_string()));
  env
}
