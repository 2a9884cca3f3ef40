//! Arbitrary bytes from a worker, through the codec into the scheduler as the driver feeds them:
//! whatever a worker sends costs no more than that worker and its own calls.

use std::collections::BTreeSet;

use invoke_parallel_protocol::{FrameDecoder, Header, STREAM_WINDOW};
use proptest::prelude::*;

use super::sim::*;

/// `FUZZ_CASES=n` for a longer run.
fn fuzz_cases() -> u32 {
  std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(500)
}

/// What the driver's fetch of a frame's descriptors comes back with: some, a datagram that
/// carried none, or no datagram at all (the worker set the flag and sent nothing).
#[derive(Clone, Copy, Debug)]
enum Fetched {
  Descriptors,
  Empty,
  Missing,
}

impl Fetched {
  fn handles(self) -> Result<Handles, String> {
    match self {
      Fetched::Descriptors => Ok(Handles::new("descriptors")),
      Fetched::Empty => Ok(Handles::default()),
      Fetched::Missing => Err("Resource temporarily unavailable (os error 11)".to_string()),
    }
  }
}

/// Which call a frame names: one the worker was given, an id near those, or any id.
#[derive(Clone, Copy, Debug)]
enum Names {
  Own(usize),
  Near(CallId),
  Any(CallId),
}

/// What a worker sends, honest or not.
#[derive(Clone, Debug)]
enum Act {
  /// One frame with any kind, flag, ids and payload.
  Frame { kind: Kind, with_handles: bool, call: Names, module: ModuleId, payload: Vec<u8>, fetched: Fetched },
  /// A streamed result's start, `items` items, which may run past the credit window (frames
  /// drawn one by one almost never do: one out of turn gets the worker dropped first), and its
  /// end if `end` says how it ends.
  Stream { call: Names, items: usize, end: Option<Kind> },
}

fn names() -> impl Strategy<Value = Names> {
  // The pool's calls are 1 to 7.
  prop_oneof![
    2 => any::<usize>().prop_map(Names::Own),
    2 => (0u32..9).prop_map(Names::Near),
    1 => any::<u32>().prop_map(Names::Any),
  ]
}

fn act() -> impl Strategy<Value = Act> {
  let frame = (
    prop::sample::select(Kind::ALL),
    prop::bool::weighted(0.1),
    names(),
    // 0 names no module; the calls are of module 1.
    prop_oneof![4 => Just(0u32), 1 => Just(1u32), 1 => any::<u32>()],
    prop::collection::vec(any::<u8>(), 0..6),
    prop_oneof![Just(Fetched::Descriptors), Just(Fetched::Empty), Just(Fetched::Missing)],
  )
    .prop_map(|(kind, with_handles, call, module, payload, fetched)| Act::Frame {
      kind,
      with_handles,
      call,
      module,
      payload,
      fetched,
    });
  let window = STREAM_WINDOW as usize;
  let ends = prop::option::of(prop_oneof![Just(Kind::Resolved), Just(Kind::Rejected)]);
  let stream = (names(), prop_oneof![0..8usize, window - 4..window + 5], ends)
    .prop_map(|(call, items, end)| Act::Stream { call, items, end });
  prop_oneof![3 => frame, 1 => stream]
}

/// The frames an act puts on the wire, each with what fetching its descriptors would give.
fn frames_of(act: &Act, own: &[CallId]) -> Vec<(Header, Vec<u8>, Fetched)> {
  let id = |names: Names| match names {
    Names::Own(i) => own[i % own.len()],
    Names::Near(call) | Names::Any(call) => call,
  };
  let header = |kind: Kind, call: CallId, payload: &[u8]| Header {
    kind: kind as u8,
    with_handles: false,
    call,
    module: 0,
    payload_len: payload.len(),
  };
  match act {
    Act::Frame { kind, with_handles, call, module, payload, fetched } => {
      let header = Header { with_handles: *with_handles, module: *module, ..header(*kind, id(*call), payload) };
      vec![(header, payload.clone(), *fetched)]
    }
    Act::Stream { call, items, end } => {
      let call = id(*call);
      let item = (header(Kind::Item, call, b"i"), b"i".to_vec(), Fetched::Missing);
      let start = (header(Kind::StreamStart, call, b""), Vec::new(), Fetched::Missing);
      let end = end.map(|kind| (header(kind, call, b"e"), b"e".to_vec(), Fetched::Missing));
      std::iter::once(start).chain(std::iter::repeat_n(item, *items)).chain(end).collect()
    }
  }
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

  /// Whatever worker 1 sends, decoded and fed to the scheduler as the driver does: only calls in
  /// flight on it hear of it, no stream gets more than its credit (the world checks every
  /// delivered item), nothing it sends counts once it broke the protocol, every call settles,
  /// and the pool still closes.
  #[test]
  fn arbitrary_frames_cost_at_most_their_worker(
    acts in prop::collection::vec(act(), 0..80),
    garbage in prop::collection::vec(any::<u8>(), 0..12),
    chunk in 1usize..48,
    grants in prop::collection::vec(prop::option::weighted(0.3, (2u32..8, 1u32..40)), 0..8),
  ) {
    let mut sim = Sim::with_module(config(2, 2, 0));
    sim.start(2);
    for _ in 0..6 {
      sim.submit(1, false);
    }
    let own: Vec<CallId> = sim.world[&1].running.iter().copied().collect();
    let frames: Vec<_> = acts.iter().flat_map(|act| frames_of(act, &own)).collect();
    let mut stream = Vec::new();
    for (header, payload, _) in &frames {
      stream.extend(header.encode());
      stream.extend(payload);
    }
    stream.extend(&garbage);

    let mut decoder = FrameDecoder::with_limit(64);
    let mut grants = grants.iter().cycle();
    let mut decoded = 0;
    let mut broken = false;
    'read: for bytes in stream.chunks(chunk) {
      decoder.push(bytes);
      loop {
        // Frames come out in the order they were sent, so this is the frame being read.
        let fetched = frames.get(decoded).map_or(Fetched::Missing, |(_, _, fetched)| *fetched);
        let (event, corrupt) = match decoder.next_message(|| fetched.handles()) {
          Ok(Some(message)) => (Event::Message { worker: 1, message }, false),
          Ok(None) => break,
          // The stream has no frame boundary left: the driver reads no more of it.
          Err(error) => (Event::Corrupt { worker: 1, reason: error.to_string() }, true),
        };
        decoded += 1;
        let in_flight: BTreeSet<CallId> =
          sim.world[&1].running.iter().copied().filter(|call| !sim.settled.contains_key(call)).collect();
        let mut out = Vec::new();
        sim.sched.handle(event, &mut out);
        if broken {
          prop_assert!(out.is_empty(), "a worker that broke the protocol was heard: {:?}", out);
        }
        for action in &out {
          if let Action::Deliver { call, .. } | Action::Settle { call, .. } = action {
            prop_assert!(in_flight.contains(call), "worker 1 settled or streamed call {}, not in flight on it", call);
          }
        }
        sim.apply(out);
        sim.check();
        broken = sim.sched.shuns(1);
        if corrupt {
          prop_assert!(broken, "a corrupt stream did not get its worker shunned");
          break 'read;
        }
        if let Some(&(call, items)) = grants.next().and_then(Option::as_ref) {
          sim.event(Event::Credit { call, items });
        }
      }
    }
    sim.settle_world();
    for call in &sim.submitted {
      prop_assert!(sim.settled.contains_key(call), "call {} never settled", call);
    }
    sim.event(Event::Close { force: true });
    sim.settle_world();
    prop_assert!(sim.closed, "a forced close did not complete");
  }
}
