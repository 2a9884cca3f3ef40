//! What the protocol's opaque `Handles` token holds on this side: the descriptors themselves.
//! Only the driver opens the token; the scheduler and the codec just carry it.

use crate::protocol::Handles;
use crate::sys::Descriptor;

/// The token for `descriptors` (none for no descriptors, as for almost every message).
pub fn attach(descriptors: Vec<Descriptor>) -> Handles {
  if descriptors.is_empty() {
    Handles::default()
  } else {
    Handles::new(descriptors)
  }
}

/// The descriptors in the token, to send (the token keeps them open).
pub fn borrow(handles: &Handles) -> &[Descriptor] {
  handles.get::<Vec<Descriptor>>().map_or(&[], Vec::as_slice)
}

/// The descriptors in the token, now owned by the caller (a received token has one holder).
pub fn take(handles: Handles) -> Vec<Descriptor> {
  handles.take::<Vec<Descriptor>>().unwrap_or_default()
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::os::fd::AsRawFd;
  use std::os::unix::net::UnixStream;

  #[test]
  fn descriptors_go_through_the_token_and_back() {
    let (a, b) = UnixStream::pair().unwrap();
    let descriptors = vec![Descriptor::copy_of(a.as_raw_fd()).unwrap(), Descriptor::copy_of(b.as_raw_fd()).unwrap()];
    let numbers: Vec<i32> = descriptors.iter().map(Descriptor::number).collect();
    let token = attach(descriptors);
    assert_eq!(borrow(&token).iter().map(Descriptor::number).collect::<Vec<_>>(), numbers);
    assert_eq!(take(token).iter().map(Descriptor::number).collect::<Vec<_>>(), numbers);
    assert!(attach(Vec::new()).is_empty());
    assert!(borrow(&Handles::default()).is_empty());
  }
}
