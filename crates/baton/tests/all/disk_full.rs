//! A full disk: the server answers with a clear status naming the problem, keeps serving
//! reads, and loses nothing it acknowledged. Needs root (it mounts a small tmpfs); elsewhere
//! it says so and does nothing.

use std::process::Command;

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::json;
use tonic::Code;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test]
async fn full_disk_is_refused_clearly_and_acknowledged_work_survives() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs here (not root?): full-disk test not run");
        return;
    }
    let _guard = Mount(mnt.clone());
    let data = mnt.join("data");
    let server = Server::start(&data);
    let ch = server.channel().await;
    register_task_defs(&ch, json!({"name": "df_task"})).await;
    register_workflow(
        &ch,
        &json!({"name": "df", "tasks": [{"name": "df_task", "taskReferenceName": "d"}]}),
    )
    .await;
    let before = start(&ch, "df", json!({"n": 1})).await;

    // Fill the disk.
    let filler = mnt.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "count=64"])
        .arg(format!("of={}", filler.display()))
        .stderr(std::process::Stdio::null())
        .status();

    let mut wfs = WorkflowServiceClient::new(ch.clone());
    let big = "x".repeat(256 * 1024);
    let mut refused = None;
    for i in 0..400 {
        let r = wfs
            .start_workflow(pb::StartWorkflowRequest {
                name: "df".into(),
                input: Some(baton_grpc::convert::object_to_struct(
                    json!({"i": i, "pad": big}).as_object().unwrap(),
                )),
                ..Default::default()
            })
            .await;
        if let Err(e) = r {
            refused = Some(e);
            break;
        }
    }
    let e = refused.expect("a start was refused once the disk filled up");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(
        e.message().contains("storage failure") && e.message().to_lowercase().contains("space"),
        "the message names the problem: {}",
        e.message()
    );
    // Still serving: the workflow acknowledged before is readable and intact.
    let w = get(&ch, &before).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Running);
    assert_eq!(output(&w), json!({}));
    // Health still answers.
    let health = tonic_health::pb::health_client::HealthClient::new(ch.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers");
    assert_eq!(health.into_inner().status, 1, "SERVING");
}
