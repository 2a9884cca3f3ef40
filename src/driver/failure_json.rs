//! A scheduler failure as the JSON the JS side reads (`lib/errors.js`): the kind by the name JS
//! knows it by, with the exit details of the worker involved.

use crate::core::Failure;

pub fn failure_json(failure: &Failure) -> String {
  let status = failure.status.as_ref();
  serde_json::json!({
    "type": failure.kind.name(),
    "message": failure.message,
    "pid": failure.pid,
    "exitCode": status.and_then(|s| s.code),
    "signal": status.and_then(|s| s.signal.as_ref()).map(|signal| signal.name()),
  })
  .to_string()
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::core::{ExitSignal, ExitStatus, FailureKind};

  #[test]
  fn a_failure_crosses_with_its_kind_message_and_exit() {
    let status = ExitStatus { code: None, signal: Some(ExitSignal::Abort) };
    let failure = Failure::new(FailureKind::WorkerDied, "gone").with_exit(Some(42), Some(status));
    let json: serde_json::Value = serde_json::from_str(&failure_json(&failure)).unwrap();
    assert_eq!(
      json,
      serde_json::json!({"type": "retry", "message": "gone", "pid": 42, "exitCode": null, "signal": "SIGABRT"})
    );
  }
}
