//! Schedules on the real binary: a schedule firing every second starts its workflow with
//! the scheduler's inputs; it is read, listed, previewed, paused, resumed, triggered and
//! deleted over gRPC and the CLI, and its history shows what it started; bad definitions,
//! unknown schedules and malformed JSON are refused by name.

use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use serde_json::{Value, json};
use tonic::transport::Channel;

fn every_second(name: &str, workflow: &str) -> Value {
    json!({
        "name": name,
        "cronExpression": "* * * * * ?",
        "zoneId": "Europe/Paris",
        "startWorkflowRequest": {"name": workflow, "version": 1, "input": {"from": "schedule"}}
    })
}

async fn save(ch: &Channel, def: &Value) -> Result<pb::ScheduleView, tonic::Status> {
    schedule_client(ch)
        .save_schedule(pb::SaveScheduleRequest {
            definition_json: def.to_string(),
        })
        .await
        .map(|r| r.into_inner().schedule.expect("schedule"))
}

async fn view(ch: &Channel, name: &str) -> pb::ScheduleView {
    schedule_client(ch)
        .get_schedule(pb::GetScheduleRequest { name: name.into() })
        .await
        .expect("get schedule")
        .into_inner()
        .schedule
        .expect("schedule")
}

async fn history(ch: &Channel, name: &str) -> Vec<Value> {
    schedule_client(ch)
        .get_schedule_history(pb::GetScheduleHistoryRequest {
            name: name.into(),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .entries
        .into_iter()
        .map(|e| {
            Value::Object(
                e.event
                    .as_ref()
                    .map(baton_grpc::convert::struct_to_object)
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Ids of the workflows the history says were started, oldest first.
async fn started(ch: &Channel, name: &str) -> Vec<String> {
    let mut ids: Vec<String> = history(ch, name)
        .await
        .into_iter()
        .filter(|e| e["type"] == "STARTED")
        .filter_map(|e| e["workflowId"].as_str().map(str::to_string))
        .collect();
    ids.reverse();
    ids
}

async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn parse(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_fires_and_is_steered_over_grpc_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_workflow(&ch, &scheduled_workflow("sched_quick")).await;

    let saved = save(&ch, &every_second("every_sec", "sched_quick"))
        .await
        .expect("save");
    assert_eq!(saved.name, "every_sec");
    assert_eq!(saved.workflow_name, "sched_quick");
    assert_eq!(saved.zone_id, "Europe/Paris");
    assert!(!saved.paused);
    assert!(saved.next_run_time.is_some());
    let def: Value = serde_json::from_str(&saved.definition_json).unwrap();
    assert_eq!(def["cronExpression"], "* * * * * ?");
    assert_eq!(def["startWorkflowRequest"]["input"]["from"], "schedule");

    // It fires on its own: two runs at least, each with the scheduler's inputs.
    eventually("two scheduled runs", || async {
        started(&ch, "every_sec").await.len() >= 2
    })
    .await;
    let ids = started(&ch, "every_sec").await;
    let mut slots = Vec::new();
    for id in ids.iter().take(2) {
        let w = wait_terminal(&ch, id, 30).await;
        assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
        let input = Value::Object(
            w.input
                .as_ref()
                .map(baton_grpc::convert::struct_to_object)
                .unwrap_or_default(),
        );
        assert_eq!(input["_startedByScheduler"], "every_sec", "{input}");
        assert_eq!(input["from"], "schedule");
        let slot = input["_scheduledTime"].as_i64().expect("_scheduledTime");
        assert_eq!(slot % 1000, 0, "slots fall on whole seconds");
        slots.push(slot);
    }
    assert_ne!(slots[0], slots[1]);
    eventually("the counters count the runs", || async {
        view(&ch, "every_sec")
            .await
            .counters
            .is_some_and(|c| c.fired >= 2)
    })
    .await;

    // Listing, with and without the workflow filter.
    let list = |w: &str| {
        let w = w.to_string();
        let ch = ch.clone();
        async move {
            schedule_client(&ch)
                .list_schedules(pb::ListSchedulesRequest { workflow_name: w })
                .await
                .expect("list")
                .into_inner()
                .schedules
        }
    };
    assert_eq!(list("").await.len(), 1);
    assert_eq!(list("sched_quick").await[0].name, "every_sec");
    assert!(list("other").await.is_empty());

    // Previews: the saved schedule, a definition, a cron expression in a zone.
    let from = baton_grpc::convert::ts(1_767_225_600_000); // 2026-01-01T00:00:00Z
    let p = schedule_client(&ch)
        .preview_schedule(pb::PreviewScheduleRequest {
            of: Some(pb::preview_schedule_request::Of::Name("every_sec".into())),
            from_time: Some(from),
            limit: 3,
            ..Default::default()
        })
        .await
        .expect("preview by name")
        .into_inner();
    assert_eq!(p.slots.len(), 3);
    assert!(p.truncated);
    assert_eq!(p.zone_id, "Europe/Paris");
    assert_eq!(p.slots[0].time.as_ref().unwrap().seconds, 1_767_225_601);
    let p = schedule_client(&ch)
        .preview_schedule(pb::PreviewScheduleRequest {
            of: Some(pb::preview_schedule_request::Of::CronExpression(
                "0 9 * * *".into(),
            )),
            zone_id: "America/New_York".into(),
            from_time: Some(from),
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("preview of a cron")
        .into_inner();
    // 09:00 in New York in January is 14:00 UTC.
    assert_eq!(
        p.slots[0].time.as_ref().unwrap().seconds,
        1_767_225_600 + 14 * 3600
    );
    let p = schedule_client(&ch)
        .preview_schedule(pb::PreviewScheduleRequest {
            of: Some(pb::preview_schedule_request::Of::DefinitionJson(
                json!({"name": "x", "cronExpression": "0 0 12 * * ?",
                       "startWorkflowRequest": {"name": "anything"}})
                .to_string(),
            )),
            from_time: Some(from),
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("preview of a definition")
        .into_inner();
    assert_eq!(p.slots.len(), 2);
    assert_eq!(p.zone_id, "UTC");

    // The CLI reads the same.
    let (ok, out, err) = cli(&server, &["schedule", "list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("every_sec") && out.contains("sched_quick"),
        "{out}"
    );
    assert!(out.contains("ACTIVE"), "{out}");
    let (ok, out, err) = cli(&server, &["schedule", "get", "every_sec"]);
    assert!(ok, "{err}");
    assert!(out.contains("Europe/Paris"), "{out}");
    assert!(
        out.contains("+01:00 Europe/Paris"),
        "local time shown: {out}"
    );
    let (ok, out, err) = cli(&server, &["schedule", "get", "every_sec", "--json"]);
    assert!(ok, "{err}");
    let v = parse(&out);
    assert_eq!(v["name"], "every_sec");
    assert_eq!(v["definition"]["zoneId"], "Europe/Paris");
    assert!(v["counters"]["fired"].as_i64().unwrap() >= 2);
    let (ok, out, err) = cli(
        &server,
        &[
            "schedule",
            "preview",
            "--cron",
            "0 9 * * *",
            "--zone",
            "America/New_York",
            "--from",
            "2026-01-01T00:00:00Z",
            "--limit",
            "2",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("2026-01-01T14:00:00Z (2026-01-01T09:00:00-05:00 America/New_York)"),
        "{out}"
    );
    let (ok, out, err) = cli(&server, &["schedule", "history", "every_sec", "--json"]);
    assert!(ok, "{err}");
    assert!(
        parse(&out)
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["type"] == "STARTED"),
        "{out}"
    );
    let (ok, out, err) = cli(&server, &["schedule", "history", "every_sec"]);
    assert!(ok, "{err}");
    assert!(out.contains("STARTED"), "{out}");

    // Paused: the state and the note show it.
    let (ok, _, err) = cli(
        &server,
        &["schedule", "pause", "every_sec", "--note", "maintenance"],
    );
    assert!(ok, "{err}");
    let v = view(&ch, "every_sec").await;
    assert!(v.paused);
    assert_eq!(v.note, "maintenance");
    assert!(v.next_run_time.is_none());
    let (ok, out, _) = cli(&server, &["schedule", "list"]);
    assert!(ok && out.contains("PAUSED"), "{out}");
    // That a paused schedule starts nothing is shown on a virtual clock in the server's
    // own tests; here the state says so (no next run time), and nothing waits on time.

    // A trigger runs it even while paused, with the input given merged in.
    let (ok, out, err) = cli(
        &server,
        &[
            "schedule",
            "trigger",
            "every_sec",
            "--input",
            r#"{"extra": 7}"#,
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let ids = parse(&out)["workflowIds"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 1, "{out}");
    let w = wait_terminal(&ch, ids[0].as_str().unwrap(), 30).await;
    let input = Value::Object(
        w.input
            .as_ref()
            .map(baton_grpc::convert::struct_to_object)
            .unwrap_or_default(),
    );
    assert_eq!(input["extra"], 7, "{input}");
    assert_eq!(input["_startedByScheduler"], "every_sec", "{input}");
    let r = schedule_client(&ch)
        .trigger_schedule(pb::TriggerScheduleRequest {
            name: "every_sec".into(),
            ..Default::default()
        })
        .await
        .expect("trigger over gRPC")
        .into_inner();
    assert_eq!(r.workflow_ids.len(), 1);

    // Resumed over gRPC, it fires again.
    let v = schedule_client(&ch)
        .resume_schedule(pb::ResumeScheduleRequest {
            name: "every_sec".into(),
            note: "done".into(),
        })
        .await
        .expect("resume")
        .into_inner()
        .schedule
        .unwrap();
    assert!(!v.paused);
    let fired = view(&ch, "every_sec").await.counters.unwrap().fired;
    eventually("a run after the resume", || async {
        view(&ch, "every_sec").await.counters.unwrap().fired > fired
    })
    .await;

    // Bulk pause over gRPC names each outcome.
    let r = schedule_client(&ch)
        .bulk_pause_schedules(pb::BulkPauseSchedulesRequest {
            names: vec!["every_sec".into(), "nope".into()],
            resume: false,
            note: String::new(),
        })
        .await
        .expect("bulk pause")
        .into_inner();
    assert!(r.outcomes[0].ok);
    assert!(!r.outcomes[1].ok);
    assert!(r.outcomes[1].error.contains("nope"), "{:?}", r.outcomes[1]);

    // Delete over the CLI; then it is gone.
    let (ok, out, err) = cli(&server, &["schedule", "delete", "every_sec"]);
    assert!(ok, "{err}");
    assert!(out.contains("deleted"), "{out}");
    let e = schedule_client(&ch)
        .get_schedule(pb::GetScheduleRequest {
            name: "every_sec".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    assert!(e.message().contains("every_sec"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_create_apply_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_workflow(&ch, &scheduled_workflow("sched_daily")).await;

    // create and apply -f take Conductor's schedule JSON.
    let file = dir.path().join("daily.json");
    let daily = json!({
        "name": "daily",
        "cronExpression": "0 0 9 * * ?",
        "zoneId": "Asia/Tokyo",
        "startWorkflowRequest": {"name": "sched_daily"}
    });
    std::fs::write(&file, daily.to_string()).unwrap();
    let f = file.to_str().unwrap();
    let (ok, out, err) = cli(&server, &["schedule", "create", "-f", f]);
    assert!(ok, "{err}");
    assert!(out.contains("schedule daily created"), "{out}");
    assert!(out.contains("Asia/Tokyo"), "{out}");
    let (ok, _, err) = cli(&server, &["schedule", "create", "-f", f]);
    assert!(!ok);
    assert!(err.contains("exists already"), "{err}");
    let mut changed = daily.clone();
    changed["description"] = json!("every morning");
    std::fs::write(&file, changed.to_string()).unwrap();
    let (ok, out, err) = cli(&server, &["schedule", "apply", "-f", f, "--json"]);
    assert!(ok, "{err}");
    let v = parse(&out);
    assert_eq!(v[0]["result"], "updated");
    assert_eq!(
        v[0]["schedule"]["definition"]["description"],
        "every morning"
    );
    let v = view(&ch, "daily").await;
    assert!(v.revision > 1, "{v:?}");
    let (ok, out, err) = cli(&server, &["schedule", "preview", "daily", "--json"]);
    assert!(ok, "{err}");
    let p = parse(&out);
    assert_eq!(p["zoneId"], "Asia/Tokyo");
    // 09:00 in Tokyo is 00:00 UTC.
    assert!(
        p["slots"][0]["time"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00Z"),
        "{out}"
    );

    // A backfill of a range without slots is accepted and starts nothing.
    let (ok, _, err) = cli(
        &server,
        &[
            "schedule",
            "backfill",
            "daily",
            "--from",
            "2026-01-01T01:00:00Z",
            "--until",
            "2026-01-01T02:00:00Z",
        ],
    );
    assert!(ok, "{err}");

    // An invalid cron names the field.
    let mut bad = daily.clone();
    bad["cronExpression"] = json!("61 * * * *");
    let e = save(&ch, &bad).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("cronExpression"), "{e}");
    // An unknown zone is refused by name.
    let mut bad = daily.clone();
    bad["zoneId"] = json!("Mars/Olympus");
    let e = save(&ch, &bad).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("Mars/Olympus"), "{e}");
    // A workflow that is not defined is refused.
    let mut bad = daily.clone();
    bad["startWorkflowRequest"]["name"] = json!("no_such_flow");
    let e = save(&ch, &bad).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("no_such_flow"), "{e}");
    // Malformed JSON names the problem.
    let e = schedule_client(&ch)
        .save_schedule(pb::SaveScheduleRequest {
            definition_json: "{\"name\": \"x\",".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("definition_json"), "{e}");
    let e = schedule_client(&ch)
        .save_schedule(pb::SaveScheduleRequest {
            definition_json: json!({"name": "x", "cronExpression": 5}).to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(
        e.message().contains("cronExpression") || e.message().contains("string"),
        "{e}"
    );
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{not json").unwrap();
    let (ok, _, err) = cli(
        &server,
        &["schedule", "apply", "-f", broken.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(err.contains("not valid JSON"), "{err}");
    // An unknown overlap policy is refused by name.
    let e = schedule_client(&ch)
        .trigger_schedule(pb::TriggerScheduleRequest {
            name: "daily".into(),
            overlap: "SOMETIMES".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("SOMETIMES"), "{e}");

    // Unknown schedules are NOT_FOUND, named, everywhere.
    let e = schedule_client(&ch)
        .pause_schedule(pb::PauseScheduleRequest {
            name: "ghost".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    assert!(e.message().contains("ghost"), "{e}");
    let e = schedule_client(&ch)
        .get_schedule_history(pb::GetScheduleHistoryRequest {
            name: "ghost".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    let e = schedule_client(&ch)
        .delete_schedule(pb::DeleteScheduleRequest {
            name: "ghost".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    let (ok, _, err) = cli(&server, &["schedule", "get", "ghost"]);
    assert!(!ok);
    assert!(err.contains("ghost"), "{err}");
}
