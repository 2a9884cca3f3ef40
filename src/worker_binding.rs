//! The addon's descriptor functions for JS outside `NativePool`: the worker shim's handle
//! channel (its fd 4), the parent's check of a server a worker returned, and, where a
//! `net.Socket` shows no descriptor (Windows), finding its socket and closing one.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::sys;

/// Worker side: the descriptors of the next handle message on `channel` (the worker's fd 4).
/// The caller owns the returned descriptors.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn receive_handles(channel: i32) -> Result<Vec<i32>> {
  sys::worker_receive_handles(channel).map_err(|e| Error::from_reason(format!("could not receive handles: {e}")))
}

/// Worker side: sends `fds` as one handle message on `channel`, ahead of the frame they belong to.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn send_handles(channel: i32, fds: Vec<i32>) -> Result<()> {
  loop {
    match sys::worker_send_handles(channel, &fds) {
      // The parent is behind on reading handle messages; it will catch up.
      Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(std::time::Duration::from_millis(1)),
      other => return other.map_err(|e| Error::from_reason(format!("could not send handles: {e}"))),
    }
  }
}

/// Parent side: whether `fd` is a socket listening for connections, checked before a worker's
/// returned server is listened on (listening on anything else fails later, as an 'error' event
/// nobody would be there to handle).
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn is_listening_socket(fd: i32) -> bool {
  sys::is_listening_socket(fd)
}

/// Worker side, for a worker the portable driver started (its parent names itself): leads a
/// process group of its own, closes what it inherited by accident (from descriptor `first` up),
/// widens its channel's socket buffers, asks to die with `parent` where the OS can (Linux).
/// False if the parent is already gone.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn guard_worker(parent: u32, first: i32) -> bool {
  sys::lead_own_group();
  let _ = sys::close_inherited(first);
  sys::widen_socket(crate::protocol::CHANNEL_FD, 4 << 20);
  sys::die_with_parent(parent)
}

/// The socket of this thread's one TCP handle bound to `local_address`:`local_port` and connected
/// to `peer_address`:`peer_port` (a listening server: no peer). -1: no such handle (or an address
/// that does not parse); -2: more than one.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn find_socket(
  env: Env,
  local_address: String,
  local_port: u32,
  peer_address: Option<String>,
  peer_port: Option<u32>,
) -> Result<i32> {
  let Some((local, peer)) = addresses(local_address, local_port, peer_address, peer_port) else { return Ok(-1) };
  Ok(match crate::driver::find_socket(event_loop(&env)?, local, peer) {
    crate::driver::Found::One(socket) => socket,
    crate::driver::Found::None => -1,
    crate::driver::Found::Many => -2,
  })
}

/// Where `find_socket` found several: the sockets of those of its handles that hold the loop open.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn find_referenced_sockets(
  env: Env,
  local_address: String,
  local_port: u32,
  peer_address: Option<String>,
  peer_port: Option<u32>,
) -> Result<Vec<i32>> {
  let Some((local, peer)) = addresses(local_address, local_port, peer_address, peer_port) else {
    return Ok(Vec::new());
  };
  Ok(crate::driver::referenced_sockets(event_loop(&env)?, local, peer))
}

type Addresses = (std::net::SocketAddr, Option<std::net::SocketAddr>);

/// The local and peer addresses JS named, or None if one does not parse.
fn addresses(
  local_address: String,
  local_port: u32,
  peer_address: Option<String>,
  peer_port: Option<u32>,
) -> Option<Addresses> {
  let address = |ip: &str, port: u32| Some(std::net::SocketAddr::new(ip.parse().ok()?, u16::try_from(port).ok()?));
  let local = address(&local_address, local_port)?;
  let peer = match (peer_address, peer_port) {
    (Some(ip), Some(port)) => Some(address(&ip, port)?),
    _ => None,
  };
  Some((local, peer))
}

fn event_loop(env: &Env) -> Result<*mut crate::driver::UvLoop> {
  let uv_loop = env.get_uv_event_loop().map_err(|_| Error::from_reason("could not reach the event loop"))?;
  Ok(uv_loop as *mut crate::driver::UvLoop)
}

/// Closes a socket (descriptor) JS was handed and will not use.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn close_descriptor(fd: i32) {
  sys::close_descriptor(fd)
}

/// Once JS has stopped reading a socket it keeps while a copy travels (JS knows it by `socket`,
/// from `find_socket`): cancels the read libuv may still have pending on it (Windows; nothing on
/// Unix), so every byte goes to the copy that reads. False if no TCP handle of this thread holds
/// it, or its layout is not libuv 1.x's (then nothing was cancelled).
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn cancel_pending_read(env: Env, socket: i32) -> Result<bool> {
  let uv_loop = env.get_uv_event_loop().map_err(|_| Error::from_reason("could not reach the event loop"))?;
  Ok(crate::driver::cancel_read(uv_loop as *mut crate::driver::UvLoop, socket))
}
