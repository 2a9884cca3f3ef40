//! `Descriptor`: one socket (or server) a call hands to a worker or a worker hands back, owned.
//! JS knows it by a number (a descriptor on Unix), so it crosses to and from JS as one.

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

use super::dup_cloexec;

#[derive(Debug)]
pub struct Descriptor(pub(in crate::sys) OwnedFd);

impl Descriptor {
  /// Our own copy (close-on-exec) of the one JS knows by `number`; JS may close its own.
  pub fn copy_of(number: i32) -> io::Result<Descriptor> {
    dup_cloexec(number, 0).map(Descriptor)
  }

  /// Hands it to JS, which owns it from now on (and wraps it in a net.Socket or net.Server).
  pub fn into_js(self) -> i32 {
    self.0.into_raw_fd()
  }

  /// The number JS would know it by, for tests and messages.
  pub fn number(&self) -> i32 {
    self.0.as_raw_fd()
  }

  pub(in crate::sys) fn raw(&self) -> RawFd {
    self.0.as_raw_fd()
  }
}
