//! What the protocol's opaque `Handles` token holds on this side: the descriptors themselves.
//! Only the driver opens the token; the scheduler and the codec just carry it.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::protocol::Handles;

/// The token for `fds` (none for no descriptors, as for almost every message).
pub fn attach(fds: Vec<OwnedFd>) -> Handles {
  if fds.is_empty() {
    Handles::default()
  } else {
    Handles::new(fds)
  }
}

/// The descriptors in the token, to send (the token keeps them open).
pub fn raw(handles: &Handles) -> Vec<RawFd> {
  handles.get::<Vec<OwnedFd>>().map_or_else(Vec::new, |fds| fds.iter().map(AsRawFd::as_raw_fd).collect())
}

/// The descriptors in the token, now owned by the caller (a received token has one holder).
pub fn take(handles: Handles) -> Vec<OwnedFd> {
  handles.take::<Vec<OwnedFd>>().unwrap_or_default()
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::os::unix::net::UnixStream;

  #[test]
  fn descriptors_go_through_the_token_and_back() {
    let (a, b) = UnixStream::pair().unwrap();
    let fds: Vec<OwnedFd> = vec![a.into(), b.into()];
    let numbers: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let token = attach(fds);
    assert_eq!(raw(&token), numbers);
    assert_eq!(take(token).iter().map(AsRawFd::as_raw_fd).collect::<Vec<_>>(), numbers);
    assert!(attach(Vec::new()).is_empty());
    assert!(raw(&Handles::default()).is_empty());
  }
}
