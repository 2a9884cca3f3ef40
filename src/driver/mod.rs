//! Carries out the scheduler's actions with real processes, sockets and timers: a pool's frames
//! and timers on the JS thread's event loop, process start and reaping on one I/O thread.

mod batch;
mod channel_reader;
mod deadlines;
mod descriptors;
mod failure_json;
mod inbox;
mod js_callback;
mod lifecycle;
mod pool_driver;
mod runtime;
mod spawn;
mod to_js;
mod uv;
mod worker_channel;
mod worker_output;

pub use descriptors::attach as attach_descriptors;
pub use js_callback::JsCallback;
pub use pool_driver::{call_options, to_ms, PoolDriver};
pub use spawn::SpawnConfig;
pub use uv::UvLoop;
