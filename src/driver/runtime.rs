use std::sync::OnceLock;

use tokio::runtime::Handle;

/// The one I/O thread every pool shares for starting and reaping workers. It lives as long as the
/// process, which matters: workers are spawned from it, and PR_SET_PDEATHSIG fires when the
/// *spawning thread* exits.
pub fn io_handle() -> Handle {
  static HANDLE: OnceLock<Handle> = OnceLock::new();
  HANDLE
    .get_or_init(|| {
      let (tx, rx) = std::sync::mpsc::channel();
      std::thread::Builder::new()
        .name("invoke-parallel-io".into())
        .spawn(move || {
          let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
          tx.send(rt.handle().clone()).expect("handle receiver alive");
          rt.block_on(std::future::pending::<()>());
        })
        .expect("spawn the invoke-parallel I/O thread");
      rx.recv().expect("I/O thread started")
    })
    .clone()
}
