//! Starting a worker with libuv's `uv_spawn` on the pool's own loop (the portable driver): its
//! frames on a pipe libuv makes at descriptor 3, its handle channel at 4 (and 5: Windows' pipe
//! back), its output on pipes of its own when the pool captures it.

use std::ffi::c_void;
use std::sync::Arc;

use super::spawn::{worker_env, SpawnConfig};
use super::uv::{Handle, UvLoop};
use super::uv_stream::{self, Command, ExitCb, Pipe, Process, Stdio};
use super::worker_output::{cut_character, ends_piece, OutputProbe, MAX_LINE};
use crate::protocol::{CHANNEL_FD, HANDLE_FD};
use crate::sys::{self, DescriptorSocket, UvBuf};

/// The environment variable that tells a worker started this way its parent's pid: it then
/// guards itself as the Linux driver's pre-exec step would (`die_with_parent`,
/// `close_inherited`).
pub const PARENT_ENV: &str = "INVOKE_PARALLEL_PARENT";

/// A worker libuv started, and the parent's ends of its pipes.
pub struct Started {
  pub pid: u32,
  pub process: Handle<Process>,
  pub frames: Handle<Pipe>,
  pub handles: Option<DescriptorSocket>,
  pub output: Option<[Handle<Pipe>; 2]>,
}

/// Starts worker `slot`; `exit` gets the process handle (data: `data`) once it has exited.
pub fn start(
  uv_loop: *mut UvLoop,
  config: &SpawnConfig,
  slot: u32,
  data: *mut c_void,
  exit: ExitCb,
) -> Result<Started, String> {
  let failed = |e: std::io::Error| format!("could not run {} in {}: {e}", config.exec_path, config.cwd);
  let frames = Handle::pipe(uv_loop, std::ptr::null_mut()).map_err(failed)?;
  let output = match config.capture_output {
    true => match (Handle::pipe(uv_loop, std::ptr::null_mut()), Handle::pipe(uv_loop, std::ptr::null_mut())) {
      (Ok(out), Ok(err)) => Some([out, err]),
      (out, err) => {
        close_all([Some(frames)].into_iter().chain([out.ok(), err.ok()]));
        return Err("could not make the output pipes".into());
      }
    },
    false => None,
  };
  // Unix passes descriptors on a socket of their own; elsewhere there is none to inherit.
  let handle_socket = sys::descriptor_socket().ok();
  let mut stdio = vec![Stdio::Ignore];
  match &output {
    Some([out, err]) => {
      stdio.push(Stdio::Pipe { pipe: out, child_reads: false, child_writes: true });
      stdio.push(Stdio::Pipe { pipe: err, child_reads: false, child_writes: true });
    }
    None => stdio.extend([Stdio::Inherit(1), Stdio::Inherit(2)]),
  }
  debug_assert_eq!(stdio.len(), CHANNEL_FD as usize);
  stdio.push(Stdio::Pipe { pipe: &frames, child_reads: true, child_writes: true });
  debug_assert_eq!(stdio.len(), HANDLE_FD as usize);
  // Unix: one socket at the handle number; Windows: a pipe each way, there and at the next.
  match &handle_socket {
    Some((_, theirs)) => stdio.extend(theirs.numbers().into_iter().map(Stdio::Inherit)),
    None => stdio.push(Stdio::Ignore),
  }
  let mut env = worker_env(config, slot);
  env.push((PARENT_ENV.to_string(), std::process::id().to_string()));
  let command = Command {
    program: &config.exec_path,
    args: &config.args,
    env: &env,
    cwd: &config.cwd,
    // Not a session of its own (UV_PROCESS_DETACHED): the worker makes itself a process group
    // in ours (its guard), as the Linux driver's workers are.
    own_group: false,
    stdio: &stdio,
  };
  let spawned = uv_stream::spawn(uv_loop, data, &command, exit);
  drop(stdio);
  // The worker has its copy of its end (or failed to start): ours closes here.
  let handles = handle_socket.map(|(ours, _theirs)| ours);
  match spawned {
    Ok((process, Ok(pid))) => {
      // Calls in flight hold the process open through the pool, not through its workers.
      process.set_ref(false);
      // Windows makes each socket for the process that will open it.
      if let Some(handles) = &handles {
        handles.set_peer(pid);
        handles.guard_with(Box::new(move |socket| super::tcp_lookup::loop_holds(uv_loop, socket)));
      }
      Ok(Started { pid, process, frames, handles, output })
    }
    Ok((process, Err(e))) => {
      process.set_data(std::ptr::null_mut());
      process.close(());
      close_all([Some(frames)].into_iter().chain(output.into_iter().flatten().map(Some)));
      Err(failed(e))
    }
    Err(e) => {
      // Refused before libuv saw it (a NUL in an argument): nothing was initialized but ours.
      close_all([Some(frames)].into_iter().chain(output.into_iter().flatten().map(Some)));
      Err(failed(e))
    }
  }
}

fn close_all(pipes: impl Iterator<Item = Option<Handle<Pipe>>>) {
  for pipe in pipes.flatten() {
    pipe.close(());
  }
}

/// One captured output pipe, read on the loop: lines as the worker wrote them, a longer one in
/// pieces of `MAX_LINE` (never splitting a character), as the Linux driver passes them on.
pub struct OutputStream {
  pipe: Option<Handle<Pipe>>,
  reader: Box<LineReader>,
}

/// Where an output pipe's reads are counted (`OutputProbe`), and its place there.
pub struct Counted {
  pub probe: Arc<OutputProbe>,
  pub index: usize,
}

/// What an output pipe's callbacks reach through its data.
pub struct LineReader {
  /// Where the callbacks go with the lines (the pool and the worker).
  pub target: *const c_void,
  pub stderr: bool,
  buf: Vec<u8>,
  line: Vec<u8>,
  /// The last thing passed on was a piece of `MAX_LINE` bytes: a line end right after ends it.
  after_piece: bool,
  pub ended: bool,
  pub active: bool,
  counted: Counted,
}

impl OutputStream {
  pub fn open(
    pipe: Handle<Pipe>,
    target: *const c_void,
    stderr: bool,
    counted: Counted,
    alloc: uv_stream::AllocCb,
    read: uv_stream::ReadCb,
  ) -> OutputStream {
    let reader = Box::new(LineReader {
      target,
      stderr,
      buf: Vec::with_capacity(1 << 16),
      line: Vec::new(),
      after_piece: false,
      ended: false,
      active: false,
      counted,
    });
    pipe.set_data((&*reader as *const LineReader).cast_mut().cast());
    let ended = pipe.read_start(alloc, read).is_err();
    pipe.set_ref(false);
    reader.counted.probe.set_gauge(reader.counted.index, pipe.gauge());
    let mut stream = OutputStream { pipe: Some(pipe), reader };
    stream.reader.ended = ended;
    stream
  }

  pub fn ended(&self) -> bool {
    self.reader.ended
  }

  pub fn take_activity(&mut self) -> bool {
    std::mem::take(&mut self.reader.active)
  }
}

impl Drop for OutputStream {
  fn drop(&mut self) {
    if let Some(pipe) = self.pipe.take() {
      // Before the descriptor is closed (and its number free for another).
      self.reader.counted.probe.set_gauge(self.reader.counted.index, None);
      pipe.close(());
    }
  }
}

impl LineReader {
  pub fn read_target(&mut self) -> UvBuf {
    self.buf.clear();
    let spare = self.buf.spare_capacity_mut();
    UvBuf::new(spare.as_mut_ptr().cast(), spare.len())
  }

  /// libuv read `nread` bytes into the last `read_target`; the whole lines (or pieces) so far.
  pub fn on_read(&mut self, nread: isize) -> Vec<String> {
    let mut lines = Vec::new();
    if nread < 0 {
      self.ended = true;
      if !self.line.is_empty() {
        lines.push(String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned());
      }
      return lines;
    }
    // SAFETY: libuv wrote `nread` bytes into the spare room `read_target` offered.
    unsafe { self.buf.set_len(nread as usize) };
    self.active |= nread > 0;
    let line_ends = self.buf.iter().filter(|&&byte| byte == b'\n').count();
    self.counted.probe.read_on_loop(self.buf.len(), line_ends as u64);
    for &byte in &self.buf {
      let after_piece = std::mem::take(&mut self.after_piece);
      if byte == b'\n' {
        if !ends_piece(true, &self.line, after_piece) {
          lines.push(String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned());
        }
        continue;
      }
      self.line.push(byte);
      if self.line.len() == MAX_LINE {
        let cut = cut_character(&self.line);
        let next = self.line.split_off(self.line.len() - cut);
        lines.push(String::from_utf8_lossy(&std::mem::replace(&mut self.line, next)).into_owned());
        self.after_piece = true;
      }
    }
    lines
  }
}
