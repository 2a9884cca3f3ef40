//! `lib/protocol.js` says what the JS side shares with Rust; these hold it to the Rust values, so
//! a change on one side that the other does not follow fails here instead of on the wire.

use std::collections::BTreeMap;

use invoke_parallel_core::FailureKind;
use invoke_parallel_js_constants::{number, object, protocol_js, scalar, scalar_if_present};
use invoke_parallel_protocol::{
  FromWorkerKind, ToWorkerKind, CHANNEL_FD, HANDLES_FLAG, HANDLE_FD, HEADER_LEN, PACE_LEN, POOL_ID_ENV, STREAM_WINDOW,
  WORKER_ID_ENV,
};

#[test]
fn frame_kinds_are_the_wire_numbers_both_ways() {
  let js: BTreeMap<String, i64> =
    object(&protocol_js(), "FrameKind").into_iter().map(|(name, value)| (name, number(&value))).collect();
  let to_worker = ToWorkerKind::ALL.iter().map(|kind| (format!("{kind:?}"), *kind as i64));
  let from_worker = FromWorkerKind::ALL.iter().map(|kind| (format!("{kind:?}"), *kind as i64));
  let rust: BTreeMap<String, i64> = to_worker.chain(from_worker).collect();
  assert_eq!(js, rust);
}

#[test]
fn the_header_descriptors_and_stream_window_agree() {
  let source = protocol_js();
  assert_eq!(scalar(&source, "HEADER_LEN"), HEADER_LEN as i64);
  // Not part of the contract, but checked where the JS side names it.
  if let Some(flag) = scalar_if_present(&source, "HANDLES_FLAG") {
    assert_eq!(flag, i64::from(HANDLES_FLAG));
  }
  assert_eq!(scalar(&source, "CHANNEL_FD"), i64::from(CHANNEL_FD));
  assert_eq!(scalar(&source, "HANDLE_FD"), i64::from(HANDLE_FD));
  assert_eq!(scalar(&source, "STREAM_WINDOW"), i64::from(STREAM_WINDOW));
  assert_eq!(scalar(&source, "PACE_LEN"), PACE_LEN as i64);
}

#[test]
fn every_failure_kind_has_its_code_under_the_name_js_receives() {
  let js = object(&protocol_js(), "FAILURE_CODES");
  let rust: BTreeMap<String, String> =
    FailureKind::ALL.iter().map(|kind| (kind.name().to_string(), kind.code().to_string())).collect();
  assert_eq!(js, rust);
}

#[test]
fn the_worker_identity_variables_are_the_ones_the_driver_sets() {
  let js = object(&protocol_js(), "WorkerEnv");
  let rust: BTreeMap<String, String> =
    [("WorkerId", WORKER_ID_ENV), ("PoolId", POOL_ID_ENV)].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
  assert_eq!(js, rust);
}
