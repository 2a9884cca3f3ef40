//! What the portable driver keeps of a worker beside its channel: the libuv process handle
//! (whose exit callback reaps it), its output streams, and its exit until all it wrote is read.

use std::ffi::c_int;

use super::portable_worker::OutputStream;
use super::stream_channel::StreamChannel;
use super::uv::Handle;
use super::uv_stream::Process;
use crate::core::{ExitSignal, ExitStatus, Signal};
use crate::sys;

/// Loop turns an exited worker's pipes may keep bringing bytes (a grandchild holding them)
/// before its exit is reported anyway.
const EXIT_TURNS: u32 = 100;

pub struct PortableLink<T> {
  process: Option<Handle<Process>>,
  /// The process handle's data: boxed so its address stays put.
  _target: Box<T>,
  output: Vec<OutputStream>,
  exited: Option<ExitStatus>,
  turns: u32,
}

impl<T> PortableLink<T> {
  pub fn new(process: Handle<Process>, target: Box<T>, output: Vec<OutputStream>) -> Self {
    PortableLink { process: Some(process), _target: target, output, exited: None, turns: 0 }
  }

  /// Signals it and what it started (its process group, on Unix), unless it has been reaped:
  /// its pid may belong to another process by then.
  pub fn kill(&self, pid: u32, signal: Signal) {
    if self.exited.is_some() {
      return;
    }
    // The worker itself first: until its guard has run it leads no group yet.
    if let Some(process) = &self.process {
      process.kill(sys::signal_number(signal));
    }
    if sys::WORKERS_LEAD_GROUPS {
      sys::kill_group(pid, signal);
    }
  }

  /// libuv reaped it: `status` is its exit code, `signal` what ended it (0: none).
  pub fn on_exit(&mut self, status: i64, signal: c_int) {
    // An abort seen only as an exit code (Windows) is reported as the abort it is.
    let aborted = signal == 0 && sys::ABORT_EXIT_CODE == Some(status);
    self.exited = Some(ExitStatus {
      code: (signal == 0).then_some(status as i32),
      signal: if aborted { Some(ExitSignal::Abort) } else { (signal != 0).then(|| sys::exit_signal(signal)) },
    });
  }

  /// The environment is going away with its loop, which must close with no handle open: the
  /// handle is closed even though the worker (just killed) may not have been reaped.
  pub fn close_now(&mut self) {
    if let Some(process) = self.process.take() {
      process.close(());
    }
  }

  pub fn has_exited(&self) -> bool {
    self.exited.is_some()
  }

  /// Called once per loop turn after it exited: its status, once what it wrote has been read
  /// (every pipe at its end, or a whole turn without a byte after the first).
  pub fn exit_to_report<U>(&mut self, channel: Option<&mut StreamChannel<U>>) -> Option<ExitStatus> {
    self.exited.as_ref()?;
    let (channel_done, channel_quiet) = match channel {
      Some(channel) => (channel.read_done_now(), !channel.take_activity()),
      None => (true, true),
    };
    let output_done = self.output.iter().all(OutputStream::ended);
    // Every stream's flag is taken (and cleared), not just up to the first that had bytes.
    let output_active = self.output.iter_mut().map(OutputStream::take_activity).filter(|&active| active).count();
    let output_quiet = output_active == 0;
    self.turns += 1;
    let settled = (channel_done && output_done) || (channel_quiet && output_quiet);
    if self.turns > 1 && settled || self.turns > EXIT_TURNS {
      return self.exited.clone();
    }
    None
  }
}

impl<T> Drop for PortableLink<T> {
  fn drop(&mut self) {
    let Some(process) = self.process.take() else { return };
    if self.exited.is_some() {
      process.close(());
    } else {
      // Still running (an abandoned pool): its exit callback, finding no data, closes the
      // handle, which reaps it; the worker itself exits at its channel's end of file.
      process.set_data(std::ptr::null_mut());
    }
  }
}
