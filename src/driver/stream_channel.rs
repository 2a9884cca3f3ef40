//! The parent's end of one worker's channel as a libuv stream (the portable driver): frames are
//! read as libuv hands them over, a bounded amount per loop turn (the Linux driver's budget:
//! past it the pipe is not read until the next turn), and written with `uv_try_write`, falling
//! back to `uv_write` when the pipe is full; descriptors travel on a socket of their own where
//! the OS can pass them.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::io::IoSlice;
use std::rc::Rc;

use super::channel_reader::{units, UNITS_PER_TURN};
use super::descriptors;
use super::frame_channel::FrameChannel;
use super::uv::Handle;
use super::uv_stream::{AllocCb, Pipe, ReadCb, WriteCb};
use super::worker_channel::{advance, gather, Incoming, Pending, Sent, WriteState, GATHER};
use crate::protocol::{Encoded, FrameDecoder};
use crate::sys::{DescriptorSocket, UvBuf};

/// Frames a corked channel gathers before it writes them anyway (as `WorkerChannel`).
const CORKED_FRAMES: usize = 32;
/// Bytes of socket buffer asked for each way (as the Linux driver's socketpairs).
const SOCKET_BUFFER: i32 = 4 << 20;

/// The libuv callbacks of a channel; the pipe's data and a write's context lead back to `T`.
pub struct StreamCallbacks {
  pub alloc: AllocCb,
  pub read: ReadCb,
  pub written: WriteCb,
}

/// What a `uv_write` keeps alive until its callback: the frames its buffers point into.
pub struct WriteContext {
  /// False once the channel is gone: the callback then only frees.
  pub alive: Rc<Cell<bool>>,
  /// The channel's target, valid while `alive`.
  pub target: *const c_void,
  _frames: VecDeque<Pending>,
}

pub struct StreamChannel<T> {
  pipe: Option<Handle<Pipe>>,
  /// Boxed so its address, handed to libuv, stays put.
  target: Box<T>,
  handles: Option<DescriptorSocket>,
  written_cb: WriteCb,
  /// To read the pipe again after a backlog.
  read_callbacks: (AllocCb, ReadCb),
  decoder: FrameDecoder,
  incoming: Vec<Incoming>,
  backlog: VecDeque<Pending>,
  /// A `uv_write` is under way: the rest waits for its callback.
  writing: bool,
  alive: Rc<Cell<bool>>,
  retiring: bool,
  shut: bool,
  read_done: bool,
  /// Bytes arrived since the last `take_activity`.
  active: bool,
  /// What this turn's messages may still cost (`UNITS_PER_TURN` a turn, `new_turn`).
  budget: usize,
  /// The budget ran out with bytes buffered: reading is stopped, and the next turn decodes them
  /// (`receive`) before the pipe is read again.
  backlogged: bool,
}

impl<T> StreamChannel<T> {
  /// Starts reading `pipe`, which `uv_spawn` opened; `handles` carries descriptors (none where
  /// the OS cannot pass them).
  pub fn open(
    pipe: Handle<Pipe>,
    target: T,
    handles: Option<DescriptorSocket>,
    max_message_size: usize,
    callbacks: StreamCallbacks,
  ) -> std::io::Result<StreamChannel<T>> {
    let target = Box::new(target);
    pipe.set_data((&*target as *const T).cast_mut().cast());
    pipe.set_buffer_sizes(SOCKET_BUFFER);
    let channel = StreamChannel {
      pipe: Some(pipe),
      target,
      handles,
      written_cb: callbacks.written,
      read_callbacks: (callbacks.alloc, callbacks.read),
      decoder: FrameDecoder::with_payload_limit(max_message_size),
      incoming: Vec::new(),
      backlog: VecDeque::new(),
      writing: false,
      alive: Rc::new(Cell::new(true)),
      retiring: false,
      shut: false,
      read_done: false,
      active: false,
      budget: UNITS_PER_TURN,
      backlogged: false,
    };
    let pipe = channel.pipe.as_ref().expect("just set");
    pipe.read_start(callbacks.alloc, callbacks.read)?;
    // Calls in flight hold the process open through the pool, not through its pipes.
    pipe.set_ref(false);
    Ok(channel)
  }

  /// Where libuv reads into next: the decoder's spare room.
  pub fn read_target(&mut self) -> UvBuf {
    let buf = self.decoder.read_buffer();
    let spare = buf.spare_capacity_mut();
    UvBuf::new(spare.as_mut_ptr().cast(), spare.len())
  }

  /// libuv read `nread` bytes into the last `read_target` (negative: end of file or an error).
  pub fn on_read(&mut self, nread: isize) {
    if self.read_done {
      return;
    }
    if nread < 0 {
      self.end_reading();
      return;
    }
    let buf = self.decoder.read_buffer();
    // SAFETY: libuv wrote `nread` bytes (at most the spare room `read_target` offered, which
    // nothing touched since) right after the buffer's initialized part.
    unsafe { buf.set_len(buf.len() + nread as usize) };
    self.active |= nread > 0;
    self.decode(false);
  }

  /// Decodes buffered messages while the turn's budget lasts (all of them with `drain`); when it
  /// runs out with bytes left, stops reading the pipe until a later turn takes them.
  fn decode(&mut self, drain: bool) {
    let handles = &self.handles;
    loop {
      if self.budget == 0 && !drain {
        self.backlogged = self.decoder.buffered() > 0;
        if self.backlogged {
          if let Some(pipe) = &self.pipe {
            pipe.read_stop();
          }
        }
        return;
      }
      // The worker sends a frame's descriptors before the frame, so they are already queued.
      let fetch = || match handles {
        Some(socket) => socket.receive_descriptors().map(descriptors::attach).map_err(|err| err.to_string()),
        None => Err("descriptors cannot be passed on this OS".to_string()),
      };
      match self.decoder.next_message(fetch) {
        Ok(Some(message)) => {
          self.budget = self.budget.saturating_sub(units(&message));
          self.incoming.push(Incoming::Message(message));
        }
        Ok(None) => return,
        Err(err) => {
          self.incoming.push(Incoming::Corrupt(err.to_string()));
          self.end_reading();
          return;
        }
      }
    }
  }

  fn end_reading(&mut self) {
    self.read_done = true;
    if let Some(pipe) = &self.pipe {
      pipe.read_stop();
    }
  }

  pub fn read_done_now(&self) -> bool {
    self.read_done
  }

  /// Whether bytes arrived since it was last asked, or wait unread past a turn's budget.
  pub fn take_activity(&mut self) -> bool {
    std::mem::take(&mut self.active) || self.is_backlogged()
  }

  /// A loop turn is over: the next one's messages get a whole budget.
  pub fn new_turn(&mut self) {
    self.budget = UNITS_PER_TURN;
  }

  /// Some of this turn's budget is spent (`new_turn` is owed).
  pub fn spent(&self) -> bool {
    self.budget < UNITS_PER_TURN
  }

  /// Messages wait past a turn's budget.
  pub fn is_backlogged(&self) -> bool {
    self.backlogged && !self.read_done
  }

  /// A `uv_write` finished (its context already freed).
  pub fn on_written(&mut self) {
    self.writing = false;
  }

  fn write_backlog(&mut self) -> WriteState {
    if self.writing {
      return WriteState::Blocked;
    }
    while let Some(front) = self.backlog.front_mut() {
      if !front.handles.is_empty() {
        let Some(socket) = &self.handles else { return self.drop_backlog() };
        match socket.send_descriptors(descriptors::borrow(&front.handles)) {
          Ok(()) => front.handles = Default::default(),
          Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return WriteState::HandlesBlocked,
          Err(_) => return self.drop_backlog(),
        }
      }
      let bufs = buffers(&self.backlog);
      if bufs.is_empty() {
        break;
      }
      let total: usize = bufs.iter().map(UvBuf::len).sum();
      let Some(pipe) = &self.pipe else { return WriteState::Done };
      // Anything short of all of it (EAGAIN included) goes to uv_write, which waits for room.
      let written = pipe.try_write(&bufs).unwrap_or(0);
      advance(&mut self.backlog, written);
      if written < total {
        return self.write_rest();
      }
    }
    WriteState::Done
  }

  /// Hands the frames at the front (up to the next one with descriptors) to `uv_write`, which
  /// keeps them until they are written.
  fn write_rest(&mut self) -> WriteState {
    let with_handles = self.backlog.iter().skip(1).position(|p| !p.handles.is_empty()).map_or(usize::MAX, |i| i + 1);
    let count = with_handles.min(GATHER).min(self.backlog.len());
    let frames: VecDeque<Pending> = self.backlog.drain(..count).collect();
    // Raw pointers into the frames' heap memory, which stays put when the deque moves below.
    let parts = buffers(&frames);
    let context =
      Box::new(WriteContext { alive: self.alive.clone(), target: (&*self.target as *const T).cast(), _frames: frames });
    let Some(pipe) = &self.pipe else { return WriteState::Done };
    let context = Box::into_raw(context);
    // SAFETY: the buffers point into the payloads `context` owns (shared, never changed) and
    // into its frames' headers, boxed in place until the callback frees it.
    match unsafe { pipe.write(&parts, context.cast(), self.written_cb) } {
      Ok(()) => {
        self.writing = true;
        WriteState::Blocked
      }
      Err(_) => {
        // SAFETY: refused, so libuv holds no pointer to it: ours to free.
        drop(unsafe { Box::from_raw(context) });
        self.drop_backlog()
      }
    }
  }

  fn drop_backlog(&mut self) -> WriteState {
    self.backlog.clear();
    WriteState::Broken
  }

  fn shut_if_retired(&mut self) {
    if self.retiring && !self.shut && self.backlog.is_empty() {
      self.shut = true;
      if let Some(pipe) = &self.pipe {
        // The worker sees EOF (after what is being written) and exits by itself.
        pipe.shutdown(std::ptr::null_mut(), self.written_cb);
      }
    }
  }
}

/// The unwritten bytes at the front of `frames`, as `gather` picks them, as libuv buffers.
fn buffers(frames: &VecDeque<Pending>) -> Vec<UvBuf> {
  let mut iov = [IoSlice::new(&[]); GATHER * 2];
  let used = gather(frames, &mut iov);
  iov[..used].iter().map(|part| UvBuf::new(part.as_ptr(), part.len())).collect()
}

impl<T> FrameChannel for StreamChannel<T> {
  fn send(&mut self, message: Encoded, now: bool) -> Sent {
    if self.retiring {
      return Sent { owes_flush: false, state: WriteState::Done };
    }
    let was_empty = self.backlog.is_empty();
    self.backlog.push_back(Pending::new(message));
    if !now && self.backlog.len() >= CORKED_FRAMES && !self.writing {
      return Sent { owes_flush: false, state: self.flush() };
    }
    if !now || !was_empty {
      return Sent { owes_flush: was_empty, state: WriteState::Queued };
    }
    Sent { owes_flush: was_empty, state: self.flush() }
  }

  fn flush(&mut self) -> WriteState {
    let state = self.write_backlog();
    self.shut_if_retired();
    state
  }

  fn retire(&mut self) {
    if !self.retiring {
      self.retiring = true;
      self.flush();
    }
  }

  /// What was read so far; a backlog left by an earlier turn is decoded first, within this
  /// turn's budget (all of it with `drain`), and the pipe read again once it is taken.
  fn receive(&mut self, drain: bool) -> Vec<Incoming> {
    if self.backlogged && (drain || self.budget > 0) && !self.read_done {
      self.backlogged = false;
      self.decode(drain);
      if !self.backlogged && !self.read_done {
        let resumed = match &self.pipe {
          Some(pipe) => pipe.read_start(self.read_callbacks.0, self.read_callbacks.1).is_ok(),
          None => false,
        };
        if !resumed {
          self.end_reading();
        }
      }
    }
    std::mem::take(&mut self.incoming)
  }

  fn stop_reading(&mut self) {
    self.end_reading();
    self.incoming.clear();
  }

  fn read_done(&self) -> bool {
    self.read_done
  }
}

impl<T> Drop for StreamChannel<T> {
  fn drop(&mut self) {
    // A write still under way is cancelled by the close; its callback must not come back here.
    self.alive.set(false);
    if let Some(pipe) = self.pipe.take() {
      pipe.close(());
    }
  }
}
