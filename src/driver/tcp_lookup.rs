//! Which socket a `net.Socket` or `net.Server` is, where its `_handle.fd` does not say (Windows:
//! -1 for every TCP handle). N-API gives no way into another object's libuv handle, but libuv
//! lists every handle of a loop (`uv_walk`): the TCP ones whose addresses are the JS object's are
//! candidates, and exactly one must be.

use std::ffi::{c_int, c_void};
use std::net::SocketAddr;

use super::uv::{api, missing_functions, RawHandle, UvLoop};
use crate::sys::{self, UvOsFd};

/// `UV_TCP` in `uv_handle_type` (stable across libuv 1.x).
const UV_TCP: c_int = 12;
/// Room for any `sockaddr` (`sockaddr_storage` is 128 bytes everywhere).
const ADDRESS_ROOM: usize = 128;

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
  One(i32),
  None,
  Many,
}

/// One TCP handle of the loop: its socket and addresses, and whether it holds the loop open.
struct Tcp {
  socket: Option<i32>,
  local: Option<SocketAddr>,
  peer: Option<SocketAddr>,
  referenced: bool,
}

/// The socket of the one TCP handle on `uv_loop` bound to `local` and connected to `peer` (none:
/// a listening server, which has no peer).
pub fn find_socket(uv_loop: *mut UvLoop, local: SocketAddr, peer: Option<SocketAddr>) -> Found {
  let mut matches = matching(uv_loop, local, peer).into_iter();
  match (matches.next(), matches.next()) {
    (Some(Tcp { socket: Some(socket), .. }), None) => Found::One(socket),
    (Some(_), Some(_)) => Found::Many,
    _ => Found::None,
  }
}

/// The sockets of the TCP handles `find_socket` would match that hold the loop open (`uv_has_ref`).
/// Where several handles share the addresses (one connection held twice in this process), JS
/// tells its own apart by turning its handle's reference off and on between two calls.
pub fn referenced_sockets(uv_loop: *mut UvLoop, local: SocketAddr, peer: Option<SocketAddr>) -> Vec<i32> {
  matching(uv_loop, local, peer).into_iter().filter(|tcp| tcp.referenced).filter_map(|tcp| tcp.socket).collect()
}

fn matching(uv_loop: *mut UvLoop, local: SocketAddr, peer: Option<SocketAddr>) -> Vec<Tcp> {
  if !missing_functions().is_empty() {
    return Vec::new();
  }
  let same = |a: Option<SocketAddr>, b: SocketAddr| {
    a.is_some_and(|a| a.port() == b.port() && a.ip().to_canonical() == b.ip().to_canonical())
  };
  tcp_handles(uv_loop)
    .into_iter()
    .filter(|tcp| {
      same(tcp.local, local) && if let Some(peer) = peer { same(tcp.peer, peer) } else { tcp.peer.is_none() }
    })
    .collect()
}

/// Whether a handle of `uv_loop` (of any kind: TCP, UDP, pipe, poll) holds the socket JS knows by
/// `number`. Windows: a record a worker sends names a handle value in this process, and a forged
/// one may name a socket the parent already holds; it must not be taken (or closed) a second time.
pub fn loop_holds(uv_loop: *mut UvLoop, number: i32) -> bool {
  unsafe extern "C" fn visit(handle: RawHandle, found: *mut c_void) {
    // SAFETY: `found` is the `(number, held)` pair `loop_holds` passed, alive for the walk;
    // libuv passes live handles of the loop, and uv_fileno only reads them (it refuses a kind
    // that has no descriptor).
    unsafe {
      let found = &mut *(found as *mut (i32, bool));
      let mut fd: UvOsFd = std::mem::zeroed();
      if (api().fileno)(handle, &mut fd) == 0 && sys::socket_number(fd) == Some(found.0) {
        found.1 = true;
      }
    }
  }
  if !missing_functions().is_empty() {
    return false;
  }
  let mut found = (number, false);
  // SAFETY: the loop is this thread's; the walk calls `visit` synchronously.
  unsafe { (api().walk)(uv_loop, visit, (&mut found as *mut (i32, bool)).cast()) };
  found.1
}

fn tcp_handles(uv_loop: *mut UvLoop) -> Vec<Tcp> {
  unsafe extern "C" fn visit(handle: RawHandle, found: *mut c_void) {
    // SAFETY: `found` is the Vec `tcp_handles` passed, alive for the walk; libuv passes live
    // handles of the loop, and these functions only read them.
    unsafe {
      if (api().handle_get_type)(handle) != UV_TCP {
        return;
      }
      let mut fd: UvOsFd = std::mem::zeroed();
      let socket = ((api().fileno)(handle, &mut fd) == 0).then(|| sys::socket_number(fd)).flatten();
      let address = |get: unsafe extern "C" fn(RawHandle, *mut u8, *mut c_int) -> c_int| {
        let mut raw = [0u8; ADDRESS_ROOM];
        let mut len = ADDRESS_ROOM as c_int;
        (get(handle, raw.as_mut_ptr(), &mut len) == 0).then(|| sys::socket_address(&raw)).flatten()
      };
      let tcp = Tcp {
        socket,
        local: address(api().tcp_getsockname),
        peer: address(api().tcp_getpeername),
        referenced: (api().has_ref)(handle) != 0,
      };
      (*(found as *mut Vec<Tcp>)).push(tcp);
    }
  }
  let mut found: Vec<Tcp> = Vec::new();
  // SAFETY: the loop is this thread's (N-API's); the walk calls `visit` synchronously.
  unsafe { (api().walk)(uv_loop, visit, (&mut found as *mut Vec<Tcp>).cast()) };
  found
}

/// Cancels the read libuv may still have pending on the TCP handle of `uv_loop` whose socket JS
/// knows by `number`, once JS has stopped reading it (see `sys::cancel_pending_read`). False if
/// no TCP handle holds that socket, or its layout is not the one expected.
pub fn cancel_read(uv_loop: *mut UvLoop, number: i32) -> bool {
  if !missing_functions().is_empty() {
    return false;
  }
  let handle = tcp_handle_of(uv_loop, number);
  // SAFETY: a live TCP handle of this thread's loop whose socket is `number`, found just now.
  !handle.is_null() && unsafe { sys::cancel_pending_read(handle, number) }
}

/// The TCP handle of `uv_loop` whose socket JS knows by `number`, or null.
fn tcp_handle_of(uv_loop: *mut UvLoop, number: i32) -> RawHandle {
  unsafe extern "C" fn visit(handle: RawHandle, found: *mut c_void) {
    // SAFETY: `found` is the `(number, handle)` pair `tcp_handle_of` passed, alive for the walk;
    // libuv passes live handles of the loop, and these functions only read them.
    unsafe {
      let found = &mut *(found as *mut (i32, RawHandle));
      let mut fd: UvOsFd = std::mem::zeroed();
      if (api().handle_get_type)(handle) == UV_TCP
        && (api().fileno)(handle, &mut fd) == 0
        && sys::socket_number(fd) == Some(found.0)
      {
        found.1 = handle;
      }
    }
  }
  let mut found: (i32, RawHandle) = (number, std::ptr::null_mut());
  // SAFETY: the loop is this thread's (N-API's); the walk calls `visit` synchronously.
  unsafe { (api().walk)(uv_loop, visit, (&mut found as *mut (i32, RawHandle)).cast()) };
  found.1
}
