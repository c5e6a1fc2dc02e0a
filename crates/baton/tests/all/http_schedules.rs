//! The scheduler's HTTP routes against the real binary: Conductor's schedule JSON saved and
//! read back, a per-second schedule firing runs that carry the scheduler's inputs, listing,
//! pause and resume (one and in bulk), previews of a cron expression, the search over what
//! schedules did, Baton's run-now, backfill, history and next slots, deletion, and bad
//! input answered 400 or 404 by name.

use std::time::{Duration, Instant};

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Api {
    base: String,
    root: String,
    http: reqwest::Client,
}

impl Api {
    /// An execution, read over HTTP.
    async fn workflow(&self, id: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}/api/workflow/{id}", self.root))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
        serde_json::from_str(&resp.text().await.expect("body")).expect("json")
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
        };
        (status, v)
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {v}");
        v
    }

    async fn raw(&self, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).expect("json body"))
    }
}

fn message(v: &Value) -> String {
    v["message"].as_str().unwrap_or_default().to_string()
}

fn started(history: &Value) -> Vec<String> {
    history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "STARTED")
        .filter_map(|e| e["event"]["workflowId"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_routes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_workflow(
        &ch,
        &json!({
            "name": "sched_wf", "version": 1, "schemaVersion": 2,
            "tasks": [{"name": "set", "taskReferenceName": "set", "type": "SET_VARIABLE",
                       "inputParameters": {"seen": "${workflow.input._scheduledTime}"}}]
        }),
    )
    .await;
    let api = Api {
        base: format!("{}/api/scheduler", server.url()),
        root: server.url(),
        http: http_client(),
    };

    // Conductor's schedule JSON round trips through POST then GET.
    let sent = json!({
        "name": "every_second",
        "cronExpression": "* * * * * *",
        "zoneId": "UTC",
        "description": "fires each second",
        "runCatchupScheduleInstances": false,
        "paused": false,
        "scheduleStartTime": 0,
        "createdBy": "alice",
        "alertWebhook": {"url": "http://127.0.0.1:9/hook", "on": ["RUN_FAILED"]},
        "startWorkflowRequest": {
            "name": "sched_wf", "version": 1, "correlationId": "c1", "input": {"a": 1}
        }
    });
    let saved = api.ok(Method::POST, "/schedules", Some(sent.clone())).await;
    let got = api.ok(Method::GET, "/schedules/every_second", None).await;
    for k in [
        "name",
        "cronExpression",
        "zoneId",
        "description",
        "createdBy",
        "alertWebhook",
    ] {
        assert_eq!(got[k], sent[k], "{k}: {got}");
    }
    assert_eq!(got["startWorkflowRequest"]["name"], "sched_wf");
    assert_eq!(got["startWorkflowRequest"]["version"], 1);
    assert_eq!(got["startWorkflowRequest"]["correlationId"], "c1");
    assert_eq!(got["startWorkflowRequest"]["input"], json!({"a": 1}));
    assert_eq!(got["paused"], false);
    assert!(got.get("pausedReason").is_none(), "{got}");
    assert!(got["nextRunTime"].as_i64().is_some(), "{got}");
    assert!(got["createTime"].as_i64().is_some(), "{got}");
    assert!(got["updatedTime"].as_i64().is_some(), "{got}");
    assert_eq!(saved["createTime"], got["createTime"]);

    // It fires on its own at least twice; each run carries the scheduler's inputs.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ids = loop {
        let h = api
            .ok(
                Method::GET,
                "/schedules/every_second/history?limit=50",
                None,
            )
            .await;
        let ids = started(&h);
        if ids.len() >= 2 {
            break ids;
        }
        assert!(Instant::now() < deadline, "never fired twice: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let run = api.workflow(&ids[0]).await;
    assert_eq!(run["workflowName"], "sched_wf", "{run}");
    assert_eq!(run["input"]["_startedByScheduler"], "every_second", "{run}");
    assert!(run["input"]["_scheduledTime"].as_i64().is_some(), "{run}");
    assert_eq!(run["input"]["a"], 1);
    assert_eq!(run["correlationId"], "c1");

    // Listing, with and without the workflow filter.
    let all = api.ok(Method::GET, "/schedules", None).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let mine = api
        .ok(Method::GET, "/schedules?workflowName=sched_wf", None)
        .await;
    assert_eq!(mine[0]["name"], "every_second");
    let none = api
        .ok(Method::GET, "/schedules?workflowName=other", None)
        .await;
    assert_eq!(none, json!([]));
    let empty = api.ok(Method::GET, "/schedules?workflowName=", None).await;
    assert_eq!(empty.as_array().unwrap().len(), 1);

    // Pause with a reason, then resume; the GET forms too.
    let p = api
        .ok(
            Method::PUT,
            "/schedules/every_second/pause?reason=maintenance",
            None,
        )
        .await;
    assert_eq!(p["paused"], true);
    assert_eq!(p["pausedReason"], "maintenance");
    assert!(p.get("nextRunTime").is_none(), "{p}");
    let g = api.ok(Method::GET, "/schedules/every_second", None).await;
    assert_eq!(g["paused"], true);
    assert_eq!(g["pausedReason"], "maintenance");
    let next = api
        .ok(Method::GET, "/schedules/every_second/next", None)
        .await;
    assert_eq!(next, json!([]));
    let r = api
        .ok(Method::PUT, "/schedules/every_second/resume", None)
        .await;
    assert_eq!(r["paused"], false);
    assert!(r.get("pausedReason").is_none(), "{r}");
    let p = api
        .ok(Method::GET, "/schedules/every_second/pause", None)
        .await;
    assert_eq!(p["paused"], true);
    let r = api
        .ok(Method::GET, "/schedules/every_second/resume", None)
        .await;
    assert_eq!(r["paused"], false);

    // Bulk pause and resume report each name.
    let b = api
        .ok(
            Method::PUT,
            "/bulk/pause?reason=bulk",
            Some(json!(["every_second", "nope"])),
        )
        .await;
    assert_eq!(b["bulkSuccessfulResults"], json!(["every_second"]), "{b}");
    assert!(
        b["bulkErrorResults"]["nope"]
            .as_str()
            .unwrap()
            .contains("nope")
    );
    let g = api.ok(Method::GET, "/schedules/every_second", None).await;
    assert_eq!(g["pausedReason"], "bulk");
    let b = api
        .ok(Method::PUT, "/bulk/resume", Some(json!(["every_second"])))
        .await;
    assert_eq!(b["bulkSuccessfulResults"], json!(["every_second"]), "{b}");
    let (status, _) = api.call(Method::PUT, "/bulk/resume", Some(json!([]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The next times of a cron expression.
    let times = api
        .ok(
            Method::GET,
            "/nextFewSchedules?cronExpression=0%200%20*%20*%20*&scheduleStartTime=1&limit=3",
            None,
        )
        .await;
    let times: Vec<i64> = serde_json::from_value(times).unwrap();
    assert_eq!(times, vec![86_400_000, 172_800_000, 259_200_000]);
    let bounded = api
        .ok(
            Method::GET,
            "/nextFewSchedules?cronExpression=0%200%20*%20*%20*&scheduleStartTime=1\
             &scheduleEndTime=200000000&limit=",
            None,
        )
        .await;
    assert_eq!(bounded, json!([86_400_000, 172_800_000]));
    let soon = api
        .ok(
            Method::GET,
            "/nextFewSchedules?cronExpression=@hourly",
            None,
        )
        .await;
    assert_eq!(soon.as_array().unwrap().len(), 3);
    assert!(soon[0].as_i64().unwrap() > now_ms() - 1000);

    // Run now with an input override.
    let t = api
        .ok(
            Method::POST,
            "/schedules/every_second/trigger",
            Some(json!({"b": 2})),
        )
        .await;
    let id = t["workflowIds"][0]
        .as_str()
        .expect("a run started")
        .to_string();
    let run = api.workflow(&id).await;
    assert_eq!(run["input"]["b"], 2, "{run}");
    assert_eq!(run["input"]["a"], 1, "{run}");
    let t = api
        .ok(Method::POST, "/schedules/every_second/trigger", None)
        .await;
    assert_eq!(t["workflowIds"].as_array().unwrap().len(), 1);
    let t = api
        .ok(
            Method::POST,
            "/schedules/every_second/trigger?overlap=allow_all",
            None,
        )
        .await;
    assert_eq!(t["workflowIds"].as_array().unwrap().len(), 1);
    for path in [
        "/schedules/every_second/trigger?overlap=SOMETIMES",
        "/schedules/every_second/backfill?from=0&until=1000&overlap=SOMETIMES",
    ] {
        let (status, v) = api.call(Method::POST, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert!(message(&v).contains("SOMETIMES"), "{path}: {v}");
    }

    // Backfill of the last few seconds, next slots, history ranges.
    let now = now_ms();
    let bf = api
        .ok(
            Method::POST,
            &format!(
                "/schedules/every_second/backfill?from={}&until={now}",
                now - 3000
            ),
            None,
        )
        .await;
    assert_eq!(bf["name"], "every_second");
    let (status, v) = api
        .call(
            Method::POST,
            &format!("/schedules/every_second/backfill?from={now}&until=0"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let next = api
        .ok(Method::GET, "/schedules/every_second/next?limit=3", None)
        .await;
    let next = next.as_array().unwrap();
    assert_eq!(next.len(), 3);
    assert_eq!(next[0]["spec"], "* * * * * *");
    assert_eq!(next[0]["kind"], "CRON");
    assert_eq!(
        next[1]["scheduledTime"].as_i64().unwrap() - next[0]["scheduledTime"].as_i64().unwrap(),
        1000
    );
    let h = api
        .ok(Method::GET, "/schedules/every_second/history?limit=1", None)
        .await;
    assert_eq!(h.as_array().unwrap().len(), 1);
    let h = api
        .ok(
            Method::GET,
            "/schedules/every_second/history?from=0&until=1000",
            None,
        )
        .await;
    assert_eq!(h, json!([]));

    // The search over what schedules did.
    let s = api
        .ok(
            Method::GET,
            "/search/executions?query=scheduleName%20%3D%20%27every_second%27&size=2",
            None,
        )
        .await;
    assert!(s["totalHits"].as_i64().unwrap() >= 2, "{s}");
    let results = s["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r["scheduleName"] == "every_second"));
    assert!(results[0]["scheduledTime"].as_i64() >= results[1]["scheduledTime"].as_i64());
    let s = api
        .ok(
            Method::GET,
            "/search/executions?query=state%20IN%20(EXECUTED)&sort=scheduledTime:ASC",
            None,
        )
        .await;
    let results = s["results"].as_array().unwrap();
    assert!(results.len() >= 2, "{s}");
    assert!(
        results
            .iter()
            .all(|r| r["state"] == "EXECUTED" && r["workflowName"] == "sched_wf")
    );
    assert!(results[0]["scheduledTime"].as_i64() <= results[1]["scheduledTime"].as_i64());
    let s = api
        .ok(Method::GET, "/search/executions?scheduleName=other", None)
        .await;
    assert_eq!(s["totalHits"], 0);
    let s = api
        .ok(
            Method::GET,
            &format!("/search/executions?freeText={}", ids[0]),
            None,
        )
        .await;
    // Its run, and the backfill's record of finding it there.
    let hits = s["results"].as_array().unwrap();
    assert!(
        hits.iter()
            .any(|r| r["workflowId"] == ids[0].as_str() && r["state"] == "EXECUTED"),
        "{s}"
    );
    assert!(
        hits.iter()
            .all(|r| r["workflowId"] == ids[0].as_str() || r["state"] == "ALREADY_RAN"),
        "{s}"
    );
    let (status, v) = api
        .call(
            Method::GET,
            "/search/executions?query=color%20%3D%20red",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // Bad input: the field at fault is named.
    let mut bad = sent.clone();
    bad["name"] = json!("bad");
    bad["cronExpression"] = json!("not a cron");
    let (status, v) = api
        .call(Method::POST, "/schedules", Some(bad.clone()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(message(&v).contains("cronExpression"), "{v}");
    bad["cronExpression"] = json!("* * * * *");
    bad["zoneId"] = json!("Mars/Olympus");
    let (status, v) = api
        .call(Method::POST, "/schedules", Some(bad.clone()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(message(&v).contains("zoneId"), "{v}");
    bad["zoneId"] = json!("UTC");
    bad["startWorkflowRequest"]["name"] = json!("missing_wf");
    let (status, v) = api.call(Method::POST, "/schedules", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(message(&v).contains("missing_wf"), "{v}");
    let (status, v) = api.raw(Method::POST, "/schedules", "{\"name\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = api.raw(Method::POST, "/schedules", "{\"name\": 5}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(message(&v).contains("name"), "{v}");
    let (status, v) = api
        .call(
            Method::GET,
            "/nextFewSchedules?cronExpression=61%20*%20*%20*%20*",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(message(&v).contains("cronExpression"), "{v}");
    let (status, v) = api
        .call(
            Method::GET,
            "/nextFewSchedules?cronExpression=@daily&zoneId=Mars/Olympus",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(message(&v).contains("zoneId"), "{v}");
    let (status, v) = api
        .call(
            Method::GET,
            "/nextFewSchedules?cronExpression=@daily&limit=0",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = api
        .call(
            Method::POST,
            "/schedules/every_second/trigger",
            Some(json!([1])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = api
        .raw(Method::POST, "/schedules/every_second/trigger", "null")
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = api.call(Method::PUT, "/schedules/%20/pause", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, v) = api.call(Method::PUT, "/schedules/%20/resume", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, v) = api.call(Method::POST, "/schedules/%20/trigger", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, v) = api
        .call(Method::GET, "/search/executions?start=-1", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // Delete; afterwards the name is unknown everywhere.
    api.ok(Method::DELETE, "/schedules/every_second", None)
        .await;
    for (method, path) in [
        (Method::GET, "/schedules/every_second"),
        (Method::DELETE, "/schedules/every_second"),
        (Method::PUT, "/schedules/every_second/pause"),
        (Method::PUT, "/schedules/every_second/resume"),
        (Method::POST, "/schedules/every_second/trigger"),
        (Method::GET, "/schedules/every_second/history"),
        (Method::GET, "/schedules/every_second/next"),
    ] {
        let (status, v) = api.call(method.clone(), path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {v}");
        assert!(message(&v).contains("every_second"), "{v}");
    }
    let all = api.ok(Method::GET, "/schedules", None).await;
    assert_eq!(all, json!([]));
}
