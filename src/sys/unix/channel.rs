//! `Channel`: the parent's end of one worker's two sockets, frames (a stream) and handles
//! (datagrams, each carrying one frame's descriptors), and their I/O.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd};

use super::{fdpass, read_into, send_gathered, set_nonblocking, shutdown_write, Descriptor};

pub struct Channel {
  pub(in crate::sys) frames: OwnedFd,
  pub(in crate::sys) handles: OwnedFd,
}

impl Channel {
  /// Reads and writes that would block fail with `WouldBlock` instead.
  pub fn set_nonblocking(&self) -> io::Result<()> {
    set_nonblocking(&self.frames)
  }

  /// What libuv's `uv_poll_init` watches for the frames' readiness.
  pub fn poll_source(&self) -> i32 {
    self.frames.as_raw_fd()
  }

  /// One read of frame bytes into `buf`'s spare capacity: `Ok(0)` at end of file.
  pub fn read_into(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
    read_into(&self.frames, buf)
  }

  /// One gathered write of frame bytes, without blocking and without SIGPIPE.
  pub fn write_gathered(&self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
    send_gathered(&self.frames, parts)
  }

  /// Sends one frame's descriptors ahead of the frame, without blocking (`WouldBlock` when the
  /// worker's queue of them is full). The worker gets its own copies.
  pub fn send_descriptors(&self, descriptors: &[Descriptor]) -> io::Result<()> {
    let raw: Vec<i32> = descriptors.iter().map(Descriptor::raw).collect();
    fdpass::send_fds(self.handles.as_raw_fd(), &raw)
  }

  /// The next frame's descriptors, already queued (the worker sends them first).
  pub fn receive_descriptors(&self) -> io::Result<Vec<Descriptor>> {
    Ok(fdpass::recv_fds(self.handles.as_raw_fd(), false)?.into_iter().map(Descriptor).collect())
  }

  /// Closes our write side of the frames; the worker reads end of file.
  pub fn shutdown_write(&self) {
    shutdown_write(&self.frames)
  }
}
