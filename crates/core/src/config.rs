/// Pool options the scheduler acts on (the rest — cwd, env, paths — belong to the driver).
#[derive(Clone, Debug)]
pub struct PoolConfig {
  /// Most children alive at once, starting ones included.
  pub limit: u32,
  /// Children kept alive while idle; spawned when the pool is created.
  pub minimum: u32,
  /// Most calls in flight on one child; 0 means no limit.
  pub max_per_child: u32,
  /// Idle milliseconds before a child above `minimum` is retired; `None` never retires.
  pub idle_timeout_ms: Option<u64>,
  /// Consecutive failed starts tolerated before queued calls are failed.
  pub retries: u32,
  /// Times a call is sent before a worker dying under it makes it fail.
  pub max_attempts: u32,
  /// Deaths of a call's worker pinned on another call — by the worker's own report (its uncaught
  /// exception came from that call's flow), or by the pool, which killed it for not stopping that
  /// call when it was cancelled — do not count against `max_attempts`, up to this many per call;
  /// past it they count. The report is the worker's word: one that always blames another call
  /// must not send a call around forever.
  pub max_excused: u32,
  /// Milliseconds between SIGTERM and SIGKILL on a forced close.
  pub kill_grace_ms: u64,
  /// Milliseconds a cancelled call may keep running before its worker is killed.
  pub cancel_grace_ms: u64,
  /// Most calls waiting for a worker; a call beyond it is refused. `None`: no limit.
  pub max_queue: Option<usize>,
  /// A worker is replaced after finishing this many calls. `None`: never.
  pub recycle_after: Option<u64>,
  /// Milliseconds a worker asked to leave may take to exit before it gets SIGTERM (and SIGKILL
  /// `kill_grace_ms` later).
  pub leave_grace_ms: u64,
  /// Milliseconds a starting worker may take to become ready before its start counts as failed.
  /// `None`: no limit.
  pub start_timeout_ms: Option<u64>,
  /// Milliseconds a module load may take on a worker (a module whose exported promise never
  /// settles) before it fails with `LoadTimedOut` and the workers that were sent it are stopped.
  /// `None`: no limit.
  pub load_timeout_ms: Option<u64>,
  /// Milliseconds a started stream may wait on its reader (no credit left, none granted) while
  /// the pool closes gracefully, before it fails with `Closed` and its worker is told to stop it:
  /// a stream nobody reads would otherwise hold the close forever. `None`: no limit.
  pub close_read_grace_ms: Option<u64>,
  /// Hand a worker calls as its reports say it has room (`crate::pace`), within `max_per_child`;
  /// false sends calls as soon as `max_per_child` allows (`dispatch: 'eager'`).
  pub adaptive: bool,
}

impl Default for PoolConfig {
  fn default() -> Self {
    PoolConfig {
      limit: 2,
      minimum: 1,
      max_per_child: 0,
      idle_timeout_ms: Some(30_000),
      retries: 5,
      max_attempts: 3,
      max_excused: 16,
      kill_grace_ms: 1_000,
      cancel_grace_ms: 5_000,
      max_queue: None,
      recycle_after: None,
      leave_grace_ms: 2_000,
      start_timeout_ms: Some(30_000),
      load_timeout_ms: Some(30_000),
      close_read_grace_ms: Some(5_000),
      adaptive: true,
    }
  }
}
