//! The operating system behind one seam: every call that is specific to Unix or to Linux lives
//! under this module, so that a port is a new implementation of these types rather than a hunt
//! through the driver. The driver sees only what is re-exported here:
//!
//! - [`spawn_worker`] starts a [`WorkerProcess`] from a [`WorkerCommand`] (its own process group,
//!   nothing inherited but stdio and its channels, death with the parent) and returns the
//!   parent's end of its [`Channel`];
//! - [`WorkerProcess`]: its pid, its captured output ([`OutputPipe`]s), its exit, reaping exactly
//!   it; [`kill_group`] signals the process group it leads; [`PipeGauge`] tells how much an
//!   output pipe holds unread (from the pipe, or from libuv's [`UvOsFd`] for it);
//! - [`Channel`]: frame reads and gathered writes, descriptors sent and received with frames,
//!   the write side shut, the source libuv polls;
//! - [`Descriptor`]: a socket or server handed to a worker or back, owned, known to JS by a
//!   number; on the worker's side [`worker_receive_handles`] / [`worker_send_handles`];
//! - Node's libuv: [`find_symbol`], C memory for its handles ([`alloc_zeroed`], [`free`]), its
//!   buffer layout ([`UvBuf`]);
//! - for the portable driver, what libuv leaves to the OS: a worker's handle channel made apart
//!   ([`descriptor_socket`]), whether a worker leads its own group ([`WORKERS_LEAD_GROUPS`]),
//!   [`signal_number`], reaping what a closed loop no longer waits for ([`reap_in_background`]),
//!   and what the worker does for itself ([`die_with_parent`],
//!   [`close_inherited`], [`lead_own_group`], [`widen_socket`]).
//!
//! `unix.rs` holds what POSIX systems share, `linux.rs` what only Linux has (pidfd, PDEATHSIG,
//! close_range, the flags that make a descriptor close-on-exec as it is made). Linux is the only
//! platform built and tested; the README's "Platforms" section is the plan for others.

#[cfg(not(any(unix, windows)))]
compile_error!("invoke-parallel's sys layer has no implementation for this OS yet");

// One module per shape, picked here (as quinn-udp picks its `imp`).
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as driver_os;
#[cfg(not(target_os = "linux"))]
mod no_linux_driver;
#[cfg(not(target_os = "linux"))]
use no_linux_driver as driver_os;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

pub use driver_os::{spawn_worker, WorkerCommand, WorkerProcess, HAS_LINUX_DRIVER};
pub use os::{
  alloc_zeroed, cancel_pending_read, close_descriptor, close_inherited, descriptor_socket, die_with_parent,
  exit_signal, find_symbol, free, is_listening_socket, kill_group, lead_own_group, reap_in_background, signal_number,
  socket_address, socket_number, widen_socket, worker_receive_handles, worker_send_handles, Channel, Descriptor,
  DescriptorSocket, InheritedEnd, OutputPipe, PipeGauge, UvBuf, UvOsFd, ABORT_EXIT_CODE, MAX_HANDLES,
  WORKERS_LEAD_GROUPS,
};

#[cfg(all(test, target_os = "linux"))]
pub use driver_os::test_channel;

#[cfg(test)]
mod tests {
  use std::path::Path;

  /// What only src/sys/ may name: the OS's own crates and modules, and any OS by name.
  const OS_SPECIFIC: &[&str] = &[
    "libc::",
    "std::os::",
    "tokio::net::unix",
    "tokio::io::unix",
    "windows_sys",
    "windows-sys",
    "winapi",
    "target_os",
    "cfg(unix",
    "cfg(windows",
    "cfg(target_family",
  ];

  /// The seam holds only if nothing outside it reaches the OS directly (tests aside).
  #[test]
  fn no_os_specific_name_outside_sys() {
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
          for needle in OS_SPECIFIC {
            if code.contains(needle) {
              offenders.push(format!("{} names {needle}", path.display()));
            }
          }
        }
      }
    }
    assert!(offenders.is_empty(), "OS-specific names belong in src/sys/: {offenders:#?}");
  }

  /// The guard's needles catch what they are for (a guard that matches nothing passes anything).
  #[test]
  fn the_guard_catches_each_kind_of_name() {
    let samples = [
      "use std::os::fd::OwnedFd;",
      "libc::kill(pid, 9)",
      "use std::os::unix::process::CommandExt;",
      "use windows_sys::Win32::Foundation::HANDLE;",
      "#[cfg(target_os = \"macos\")]",
      "#[cfg(windows)]",
    ];
    for sample in samples {
      assert!(OS_SPECIFIC.iter().any(|needle| sample.contains(needle)), "{sample} slips through");
    }
  }
}
