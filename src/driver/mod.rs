//! Carries out the scheduler's actions with real processes, sockets and timers: a pool's frames
//! and timers on the JS thread's event loop, process start and reaping on one I/O thread.

mod batch;
mod channel_reader;
mod deadlines;
mod descriptors;
mod failure_json;
mod frame_channel;
mod inbox;
mod js_callback;
mod lifecycle;
mod pool_driver;
mod portable_link;
mod portable_worker;
mod runtime;
mod spawn;
mod stream_channel;
mod tcp_lookup;
mod to_js;
mod uv;
mod uv_stream;
mod worker_channel;
mod worker_output;

pub use descriptors::attach as attach_descriptors;
pub use js_callback::JsCallback;
pub use pool_driver::{call_options, to_ms, DriverKind, PoolDriver};
pub use spawn::SpawnConfig;
pub use tcp_lookup::{cancel_read, find_socket, referenced_sockets, Found};
pub use uv::{missing_functions as missing_libuv_functions, UvLoop};
