use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// Descriptors a call carries to its worker. Shared, so a retried call sends the same ones again;
/// they close when the call is done with.
#[derive(Clone, Default)]
pub struct SharedHandles(Option<Arc<Vec<OwnedFd>>>);

impl SharedHandles {
  pub fn new(fds: Vec<OwnedFd>) -> Self {
    SharedHandles((!fds.is_empty()).then(|| Arc::new(fds)))
  }

  pub fn is_empty(&self) -> bool {
    self.0.is_none()
  }

  pub fn raw(&self) -> Vec<RawFd> {
    self.0.iter().flat_map(|fds| fds.iter().map(|fd| fd.as_raw_fd())).collect()
  }
}

/// Descriptors that arrived with a worker's frame, owned until handed to JS.
#[derive(Default)]
pub struct ReceivedHandles(pub Vec<OwnedFd>);

macro_rules! compare_by_raw_fds {
  ($ty:ty, $raw:expr) => {
    impl PartialEq for $ty {
      fn eq(&self, other: &Self) -> bool {
        $raw(self) == $raw(other)
      }
    }
    impl Eq for $ty {}
    impl fmt::Debug for $ty {
      fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fds{:?}", $raw(self))
      }
    }
  };
}

compare_by_raw_fds!(SharedHandles, |h: &SharedHandles| h.raw());
compare_by_raw_fds!(ReceivedHandles, |h: &ReceivedHandles| h.0.iter().map(|fd| fd.as_raw_fd()).collect::<Vec<_>>());
