//! What the portable driver keeps of a worker beside its channel: the libuv process handle
//! (whose exit callback reaps it), its output streams, and its exit until all it wrote is read.

use std::ffi::c_int;

use super::portable_worker::OutputStream;
use super::stream_channel::StreamChannel;
use super::uv::Handle;
use super::uv_stream::Process;
use crate::core::{ExitSignal, ExitStatus, Signal};
use crate::sys;

/// How long an exited worker's pipes may stay open with nothing coming through (a grandchild
/// holding them) before its exit is reported anyway, as the Linux driver's lifecycle waits:
/// output that still comes is waited for, one grace at a time.
const OUTPUT_GRACE_MS: u64 = 2000;
/// Graces waited at most: a grandchild that never stops writing delays the exit by a minute.
const OUTPUT_GRACES_AT_MOST: u32 = 30;

/// What an exited worker's report waits for.
pub enum ExitReport {
  /// Its pipes are read: report this.
  Now(ExitStatus),
  /// A loop turn first (what the worker wrote just before exiting is read in it).
  NextTurn,
  /// Its pipes are held open: look again by this loop time (ms), or when bytes or their end come.
  By(u64),
}

pub struct PortableLink<T> {
  process: Option<Handle<Process>>,
  /// The process handle's data: boxed so its address stays put.
  _target: Box<T>,
  output: Vec<OutputStream>,
  exited: Option<ExitStatus>,
  turns: u32,
  /// While its pipes are held open: when the current grace ends, how many began, and whether
  /// bytes came during it.
  grace_end: Option<u64>,
  graces: u32,
  active_in_grace: bool,
}

impl<T> PortableLink<T> {
  pub fn new(process: Handle<Process>, target: Box<T>, output: Vec<OutputStream>) -> Self {
    PortableLink {
      process: Some(process),
      _target: target,
      output,
      exited: None,
      turns: 0,
      grace_end: None,
      graces: 0,
      active_in_grace: false,
    }
  }

  /// Signals it and what it started (its process group, on Unix). Once it has been reaped only
  /// its group is, until its exit is reported (as the Linux driver does): a process of the group
  /// may hold its pipes, and a group's id is not given to another process while it has members.
  pub fn kill(&self, pid: u32, signal: Signal) {
    // The worker itself first: until its guard has run it leads no group yet.
    if let (Some(process), None) = (&self.process, &self.exited) {
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
  /// handle is closed even though the worker (just killed) may not have been reaped. Whether it
  /// had not: then nothing waits for it any more but the caller.
  pub fn close_now(&mut self) -> bool {
    match self.process.take() {
      Some(process) => {
        process.close(());
        self.exited.is_none()
      }
      None => false,
    }
  }

  pub fn has_exited(&self) -> bool {
    self.exited.is_some()
  }

  /// Called once per loop turn after it exited (`now`: the loop's time, ms): its status once what
  /// it wrote has been read (every pipe at its end), or once its pipes, held open by another
  /// process, have been quiet for a whole grace (output still coming is waited for, up to
  /// `OUTPUT_GRACES_AT_MOST` graces).
  pub fn exit_to_report<U>(&mut self, channel: Option<&mut StreamChannel<U>>, now: u64) -> Option<ExitReport> {
    self.exited.as_ref()?;
    let (channel_done, channel_active) = match channel {
      Some(channel) => (channel.read_done_now(), channel.take_activity()),
      None => (true, false),
    };
    let output_done = self.output.iter().all(OutputStream::ended);
    // Every stream's flag is taken (and cleared), not just up to the first that had bytes.
    let output_active = self.output.iter_mut().map(OutputStream::take_activity).filter(|&active| active).count();
    self.active_in_grace |= channel_active || output_active > 0;
    self.turns += 1;
    if self.turns == 1 {
      return Some(ExitReport::NextTurn);
    }
    let grace_end = *self.grace_end.get_or_insert(now.saturating_add(OUTPUT_GRACE_MS));
    let graces_over = now >= grace_end && !(self.active_in_grace && self.graces + 1 < OUTPUT_GRACES_AT_MOST);
    if (channel_done && output_done) || graces_over {
      return self.exited.clone().map(ExitReport::Now);
    }
    if now >= grace_end {
      self.graces += 1;
      self.active_in_grace = false;
      self.grace_end = Some(now.saturating_add(OUTPUT_GRACE_MS));
    }
    self.grace_end.map(ExitReport::By)
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
