//! The operating system behind one seam: every call that is specific to Unix or to Linux lives
//! under this module, so that a port is a new implementation of this interface rather than a hunt
//! through the driver. The driver sees only what is re-exported here:
//!
//! - starting a worker: [`worker_sockets`] makes its two channels (fds 3 and 4 in the worker) and
//!   [`start_in_own_group`] prepares its `Command` (own process group, descriptors, parent death);
//! - watching it: [`ExitWatch`] waits for its exit and reaps exactly that pid;
//! - stopping it: [`kill_group`] signals the process group it leads;
//! - the channel's I/O: [`read_into`], [`send_gathered`], [`shutdown_write`], [`set_nonblocking`],
//!   descriptors passed with [`send_fds`] / [`recv_fds`], duplicated with [`dup_cloexec`];
//! - captured output: [`pipe_reader`], and how much a pipe holds unread ([`unread_bytes`]);
//! - Node's libuv: [`find_symbol`], and C memory for its handles ([`alloc_zeroed`], [`free`]).
//!
//! `unix.rs` holds what POSIX systems share, `linux.rs` what only Linux has (pidfd, PDEATHSIG,
//! close_range, the flags that make a descriptor close-on-exec as it is made). Linux is the only
//! platform built and tested; the README's "Platforms" section is the plan for others.

#[cfg(not(target_os = "linux"))]
compile_error!("invoke-parallel runs on Linux only for now: see the README's Platforms section for the port plan");

mod linux;
mod unix;

pub use linux::{start_in_own_group, worker_sockets, ExitWatch, WorkerSockets};
pub use unix::{
  alloc_zeroed, dup_cloexec, find_symbol, free, is_listening_socket, kill_group, pipe_reader, read_into, recv_fds,
  send_fds, send_gathered, set_nonblocking, shutdown_write, unread_bytes, MAX_HANDLES,
};

#[cfg(test)]
mod tests {
  use std::path::Path;

  /// The seam holds only if nothing outside it reaches the OS directly (tests aside).
  #[test]
  fn no_os_specific_call_outside_sys() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
      for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path == src.join("sys") {
          continue;
        }
        if path.is_dir() {
          dirs.push(path);
        } else if path.extension().is_some_and(|e| e == "rs") {
          let text = std::fs::read_to_string(&path).unwrap();
          // A test module (at a file's end) may make its own sockets: it ships in no build.
          let code = text.split("#[cfg(test)]").next().unwrap_or_default();
          for needle in ["libc::", "std::os::unix", "tokio::net::unix"] {
            if code.contains(needle) {
              offenders.push(format!("{} uses {needle}", path.display()));
            }
          }
        }
      }
    }
    assert!(offenders.is_empty(), "OS-specific calls belong in src/sys/: {offenders:#?}");
  }
}
