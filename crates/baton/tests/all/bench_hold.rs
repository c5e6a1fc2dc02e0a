//! `baton bench --hold`: workflows held RUNNING survive a kill -9 of the server, and the
//! restarted server serves, recovers and (for worker tasks) dispatches every one of them.

use std::process::{Command, Output};

use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("bench")
        .args(args)
        .output()
        .expect("run baton bench")
}

/// Runs `baton bench --json ARGS` and returns its report.
fn report(args: &[&str]) -> Value {
    let out = bench(&[&["--json"], args].concat());
    assert!(
        out.status.success(),
        "bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bench printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn positive(r: &Value, key: &str) -> f64 {
    let v = r[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {r}"));
    assert!(v > 0.0, "{key} is {v} in {r}");
    v
}

#[test]
fn held_worker_tasks_are_all_dispatched_after_a_restart() {
    let r = report(&["--hold", "200"]);
    assert_eq!(r["mode"], "hold");
    assert_eq!(r["kind"], "task");
    assert_eq!(r["hold"], 200);
    assert_eq!(r["dispatched"], 200, "{r}");
    assert_eq!(r["completed_workflows"], 200, "{r}");
    positive(&r, "rss_running_mib");
    positive(&r, "hwm_running_mib");
    let serve = positive(&r, "serve_ms");
    let first = positive(&r, "first_dispatch_ms");
    assert!(first >= serve, "first task before serving: {r}");
    assert!(
        positive(&r, "ready_ms") >= serve,
        "recovered before answering: {r}"
    );
    positive(&r, "rss_recovered_mib");
    positive(&r, "dispatch_rate");
    assert!(positive(&r, "all_done_ms") >= first, "{r}");
    assert!(r["start_retries"].is_u64(), "{r}");
}

#[test]
fn held_waits_are_recovered_after_a_restart() {
    let r = report(&["--hold", "100", "--hold-kind", "wait"]);
    assert_eq!(r["kind"], "wait");
    assert_eq!(r["hold"], 100);
    positive(&r, "rss_running_mib");
    positive(&r, "serve_ms");
    positive(&r, "ready_ms");
    positive(&r, "rss_recovered_mib");
    assert!(r["first_dispatch_ms"].is_null(), "{r}");
    assert!(r["dispatch_rate"].is_null(), "{r}");
    assert_eq!(r["dispatched"], 0, "{r}");
}

#[test]
fn a_missing_server_binary_is_a_clear_error() {
    let out = bench(&["--hold", "10", "--server-bin", "/nonexistent/baton"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot start /nonexistent/baton server"),
        "{err}"
    );
}

#[test]
fn hold_kind_needs_hold() {
    let out = bench(&["--hold-kind", "wait"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--hold"), "{err}");
}
