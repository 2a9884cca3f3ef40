//! A worker's handle channel on its own, for the portable driver: libuv makes the frames' pipe,
//! and the worker inherits this socket's other end at its handle descriptor number.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::{fdpass, Descriptor};

/// The parent's end: datagrams, each carrying one frame's descriptors.
pub struct DescriptorSocket(OwnedFd);

/// The worker's end, until the worker has been started with a copy of it.
pub struct InheritedEnd(OwnedFd);

impl InheritedEnd {
  /// The number to hand `uv_spawn` (it puts a copy at the worker's own number).
  pub fn number(&self) -> i32 {
    self.0.as_raw_fd()
  }

  /// The numbers to hand `uv_spawn`, from the worker's handle number on: this one only.
  pub fn numbers(&self) -> Vec<i32> {
    vec![self.number()]
  }
}

/// A new pair, both ends close-on-exec (libuv's copy in the worker is not).
pub fn descriptor_socket() -> io::Result<(DescriptorSocket, InheritedEnd)> {
  let mut fds = [0; 2];
  // SAFETY: `fds` has room for the two descriptors socketpair writes.
  let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, fds.as_mut_ptr()) };
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: both were just made and are owned by nobody else.
  let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
  for end in [&ours, &theirs] {
    // SAFETY: fcntl on a descriptor number has no memory-safety requirements.
    unsafe { libc::fcntl(end.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
  }
  Ok((DescriptorSocket(ours), InheritedEnd(theirs)))
}

impl DescriptorSocket {
  /// Descriptors need no recipient named here: the socket pair reaches the one worker.
  pub fn set_peer(&self, _pid: u32) {}

  /// The kernel gives a receiver new descriptors of its own: none can name one the parent holds.
  pub fn guard_with(&self, _loop_holds: Box<dyn Fn(i32) -> bool>) {}

  /// As `Channel::send_descriptors`.
  pub fn send_descriptors(&self, descriptors: &[Descriptor]) -> io::Result<()> {
    let raw: Vec<i32> = descriptors.iter().map(Descriptor::raw).collect();
    fdpass::send_fds(self.0.as_raw_fd(), &raw)
  }

  /// As `Channel::receive_descriptors`.
  pub fn receive_descriptors(&self) -> io::Result<Vec<Descriptor>> {
    Ok(fdpass::recv_fds(self.0.as_raw_fd(), false)?.into_iter().map(Descriptor).collect())
  }
}
