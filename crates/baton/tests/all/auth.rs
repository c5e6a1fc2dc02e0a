//! Authentication and roles against the real server: the first admin key, keys by role,
//! refusals over gRPC, HTTP and the worker stream, revocation, Conductor's token
//! exchange, the UI session, the audit log, and the rule about non-loopback addresses.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::admin_service_client::AdminServiceClient;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

fn baton(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env_remove("BATON_SERVER")
        .env_remove("BATON_API_KEY")
        .output()
        .expect("run baton");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `baton auth bootstrap` on `dir`: the admin key (its last line).
fn bootstrap(dir: &std::path::Path) -> String {
    let (ok, out, err) = baton(&["auth", "bootstrap", "--data-dir", dir.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    out.lines().last().unwrap().trim().to_string()
}

/// Puts the key, when there is one, on every call.
#[derive(Clone)]
struct Key(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Key {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

type Authed = InterceptedService<Channel, Key>;

fn with_key(ch: &Channel, key: Option<&str>) -> Authed {
    InterceptedService::new(
        ch.clone(),
        Key(key.map(|k| format!("Bearer {k}").parse().unwrap())),
    )
}

async fn make_key(admin: &Authed, name: &str, role: pb::Role) -> pb::CreateApiKeyResponse {
    AdminServiceClient::new(admin.clone())
        .create_api_key(pb::CreateApiKeyRequest {
            name: name.into(),
            role: role as i32,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn audit_until(
    admin: &Authed,
    filter: pb::ListAuditEventsRequest,
    what: &str,
    pred: impl Fn(&[pb::AuditEvent]) -> bool,
) -> Vec<pb::AuditEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = AdminServiceClient::new(admin.clone())
            .list_audit_events(filter.clone())
            .await
            .unwrap()
            .into_inner()
            .events;
        if pred(&events) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "audit never showed {what}: {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn start_req(name: &str) -> pb::StartWorkflowRequest {
    pb::StartWorkflowRequest {
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn roles_decide_who_may_do_what_over_grpc_and_the_worker_stream() {
    let dir = tempfile::tempdir().unwrap();
    let admin_key = bootstrap(dir.path());
    let server = Server::start_with(dir.path(), "127.0.0.1:0", &["--auth"]);
    let ch = server.channel().await;
    let admin = with_key(&ch, Some(&admin_key));

    // No key, a malformed key, a key of no one: refused, each saying why.
    for (key, why) in [
        (None, "needs credentials"),
        (Some("bk_nothing"), "malformed API key"),
        (
            Some("bk_0011223344556677_00"),
            "unknown API key 0011223344556677",
        ),
        (Some("not-a-token"), "invalid token"),
    ] {
        let e = MetadataServiceClient::new(with_key(&ch, key))
            .list_task_defs(pb::ListTaskDefsRequest::default())
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{key:?}");
        assert!(e.message().contains(why), "{key:?}: {}", e.message());
    }
    // Health answers anyone.
    let health = tonic_health::pb::health_client::HealthClient::new(ch.clone())
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await;
    assert!(health.is_ok());

    // Definitions need the admin.
    register_task_defs_with(
        &admin,
        json!([{"name": "auth_task", "retryCount": 0, "responseTimeoutSeconds": 30}]),
    )
    .await;
    let def = json!({"name": "auth_wf", "version": 1, "tasks": [{"name": "auth_task", "taskReferenceName": "t"}]});
    MetadataServiceClient::new(admin.clone())
        .update_workflow_def(pb::UpdateWorkflowDefRequest {
            definitions: vec![text_def(&def)],
        })
        .await
        .unwrap();

    let operator = make_key(&admin, "deployer", pb::Role::Operator).await;
    let worker = make_key(&admin, "greeter", pb::Role::Worker).await;
    let viewer = make_key(&admin, "dashboard", pb::Role::Viewer).await;
    assert!(operator.key_text.starts_with("bk_"));
    let op = with_key(&ch, Some(&operator.key_text));
    let wk = with_key(&ch, Some(&worker.key_text));
    let vw = with_key(&ch, Some(&viewer.key_text));

    // The operator starts; the viewer and the worker may not; nor may the operator define.
    let id = WorkflowServiceClient::new(op.clone())
        .start_workflow(start_req("auth_wf"))
        .await
        .unwrap()
        .into_inner()
        .workflow_id;
    for (who, client) in [("viewer", &vw), ("worker", &wk)] {
        let e = WorkflowServiceClient::new(client.clone())
            .start_workflow(start_req("auth_wf"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{who}");
        assert!(
            e.message().contains(&format!("has the {who} role"))
                && e.message().contains("StartWorkflow"),
            "{}",
            e.message()
        );
    }
    let e = MetadataServiceClient::new(op.clone())
        .delete_task_def(pb::DeleteTaskDefRequest {
            name: "auth_task".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(
        e.message().contains("needs the admin role"),
        "{}",
        e.message()
    );
    let e = AdminServiceClient::new(op.clone())
        .list_api_keys(pb::ListApiKeysRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // The viewer reads; the worker does not.
    let wf = WorkflowServiceClient::new(vw.clone())
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: id.clone(),
            include_tasks: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wf.workflow.unwrap().workflow_id, id);
    let e = WorkflowServiceClient::new(wk.clone())
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: id.clone(),
            include_tasks: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // A worker without a key cannot take tasks; with the worker key it completes the run.
    let e = TaskServiceClient::new(with_key(&ch, None))
        .poll(pb::PollRequest {
            task_type: "auth_task".into(),
            worker_id: "w".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let e = TaskServiceClient::new(vw.clone())
        .poll(pb::PollRequest {
            task_type: "auth_task".into(),
            worker_id: "w".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let polled = TaskServiceClient::new(wk.clone())
        .poll(pb::PollRequest {
            task_type: "auth_task".into(),
            worker_id: "w".into(),
            timeout_ms: 5_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let task = polled.task.expect("a task");
    TaskServiceClient::new(wk.clone())
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                task_id: task.task_id.clone(),
                token: task.token.clone(),
                workflow_id: task.workflow_id.clone(),
                status: pb::TaskStatus::Completed as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let wf = WorkflowServiceClient::new(admin.clone())
            .get_workflow(pb::GetWorkflowRequest {
                workflow_id: id.clone(),
                include_tasks: false,
            })
            .await
            .unwrap()
            .into_inner()
            .workflow
            .unwrap();
        if status(&wf) == pb::WorkflowStatus::Completed {
            break;
        }
        assert!(Instant::now() < deadline, "the run never completed: {wf:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Revoked: the key and what it opens are refused from the next call on.
    AdminServiceClient::new(admin.clone())
        .revoke_api_key(pb::RevokeApiKeyRequest {
            id: operator.key.as_ref().unwrap().id.clone(),
        })
        .await
        .unwrap();
    let e = WorkflowServiceClient::new(op.clone())
        .start_workflow(start_req("auth_wf"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(e.message().contains("was revoked"), "{}", e.message());
    let e = AdminServiceClient::new(admin.clone())
        .revoke_api_key(pb::RevokeApiKeyRequest { id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = AdminServiceClient::new(admin.clone())
        .create_api_key(pb::CreateApiKeyRequest {
            name: " ".into(),
            role: pb::Role::Viewer as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = AdminServiceClient::new(admin.clone())
        .create_api_key(pb::CreateApiKeyRequest {
            name: "x".into(),
            role: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // The keys, with no secret in sight.
    let keys = AdminServiceClient::new(admin.clone())
        .list_api_keys(pb::ListApiKeysRequest {})
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert_eq!(keys.len(), 4);
    assert_eq!(keys[0].created_by, "bootstrap");
    assert!(
        keys.iter()
            .find(|k| k.name == "deployer")
            .unwrap()
            .revoked_at
            .is_some()
    );
    let listed = format!("{keys:?}");
    assert!(!listed.contains(&operator.secret));

    // The audit log: the operator's start, the refused ones, the revocation; no reads,
    // no worker results, no secrets.
    let op_id = operator.key.as_ref().unwrap().id.clone();
    let events = audit_until(
        &admin,
        pb::ListAuditEventsRequest {
            actor: op_id.clone(),
            limit: 100,
            ..Default::default()
        },
        "the operator's calls",
        |e| {
            e.iter().any(|e| {
                e.outcome == pb::AuditOutcome::Denied as i32 && e.reason.contains("revoked")
            })
        },
    )
    .await;
    let started = events
        .iter()
        .find(|e| {
            e.action == "baton.v1.WorkflowService/StartWorkflow"
                && e.outcome == pb::AuditOutcome::Ok as i32
        })
        .expect("the start");
    assert_eq!(started.actor_name, "deployer");
    assert_eq!(started.role, pb::Role::Operator as i32);
    assert_eq!(started.access, "operate");
    assert!(started.remote.starts_with("127.0.0.1:"), "{started:?}");
    let denied = audit_until(
        &admin,
        pb::ListAuditEventsRequest {
            outcome: pb::AuditOutcome::Denied as i32,
            limit: 100,
            ..Default::default()
        },
        "refusals",
        |e| e.len() >= 8,
    )
    .await;
    assert!(
        denied
            .iter()
            .any(|e| e.actor == "anonymous" && e.reason.contains("needs credentials"))
    );
    assert!(
        denied
            .iter()
            .any(|e| e.actor_name == "dashboard" && e.status == "PermissionDenied")
    );
    let all = audit_until(
        &admin,
        pb::ListAuditEventsRequest {
            limit: 1000,
            ..Default::default()
        },
        "everything",
        |_| true,
    )
    .await;
    assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    assert!(!all.iter().any(|e| e.action.ends_with("/GetWorkflow") && e.outcome == pb::AuditOutcome::Ok as i32), "reads are not audited");
    assert!(
        !all.iter().any(|e| e.action.ends_with("/UpdateTask")),
        "worker results are not audited"
    );
    // A result with a forged task token changes nothing and is audited as failed.
    let e = TaskServiceClient::new(wk.clone())
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                task_id: task.task_id.clone(),
                token: "forged".into(),
                workflow_id: task.workflow_id.clone(),
                status: pb::TaskStatus::Failed as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_ne!(e.code(), Code::Ok);
    audit_until(
        &admin,
        pb::ListAuditEventsRequest {
            action: "UpdateTask".into(),
            limit: 10,
            ..Default::default()
        },
        "the forged result",
        |ev| {
            ev.iter()
                .any(|x| x.outcome == pb::AuditOutcome::Failed as i32 && x.actor_name == "greeter")
        },
    )
    .await;
    let text = format!("{all:?}");
    for secret in [&operator.secret, &worker.secret, &viewer.secret] {
        assert!(!text.contains(secret.as_str()), "a secret in the audit log");
    }
    // A failed action is audited as failed.
    WorkflowServiceClient::new(admin.clone())
        .terminate_workflow(pb::TerminateWorkflowRequest {
            workflow_id: "no-such-run".into(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    audit_until(
        &admin,
        pb::ListAuditEventsRequest {
            action: "TerminateWorkflow".into(),
            limit: 10,
            ..Default::default()
        },
        "the failed terminate",
        |e| {
            e.iter()
                .any(|e| e.outcome == pb::AuditOutcome::Failed as i32 && e.status == "NotFound")
        },
    )
    .await;
    // Paging goes on from the last seq.
    let first = AdminServiceClient::new(admin.clone())
        .list_audit_events(pb::ListAuditEventsRequest {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let next = AdminServiceClient::new(admin.clone())
        .list_audit_events(pb::ListAuditEventsRequest {
            limit: 2,
            before: first[1].seq,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert!(next[0].seq < first[1].seq);
    let e = AdminServiceClient::new(admin.clone())
        .list_audit_events(pb::ListAuditEventsRequest {
            limit: 5000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // A worker stream open when its key is revoked ends, saying why.
    let short = make_key(&admin, "short-lived", pb::Role::Worker).await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tx.send(pb::WorkRequest {
        kind: Some(pb::work_request::Kind::Subscribe(pb::Subscribe {
            task_types: vec!["auth_task".into()],
            worker_id: "short".into(),
            credits: 1,
            ..Default::default()
        })),
    })
    .unwrap();
    let mut stream = TaskServiceClient::new(with_key(&ch, Some(&short.key_text)))
        .work(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    AdminServiceClient::new(admin.clone())
        .revoke_api_key(pb::RevokeApiKeyRequest {
            id: short.key.as_ref().unwrap().id.clone(),
        })
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.message().await {
                Err(e) => return e,
                Ok(None) => panic!("the stream ended without a reason"),
                Ok(Some(_)) => {}
            }
        }
    })
    .await
    .expect("the stream of a revoked key stays open");
    assert_eq!(ended.code(), Code::Unauthenticated);
    assert!(
        ended.message().contains("was revoked"),
        "{}",
        ended.message()
    );
    drop(tx);

    // The CLI with a key; `baton audit` prints what the API answers.
    let url = server.url();
    let (ok, _, err) = baton(&["def", "list", "--server", &url]);
    assert!(!ok && err.contains("Unauthenticated"), "{err}");
    let (ok, out, err) = baton(&[
        "auth",
        "key",
        "list",
        "--server",
        &url,
        "--api-key",
        &admin_key,
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("deployer") && out.contains("operator"),
        "{out}"
    );
    let (ok, out, err) = baton(&[
        "audit",
        "--outcome",
        "denied",
        "--server",
        &url,
        "--api-key",
        &admin_key,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("DENIED"), "{out}");
}

async fn register_task_defs_with(admin: &Authed, defs: Value) {
    let defs = defs.as_array().unwrap().iter().map(text_def).collect();
    MetadataServiceClient::new(admin.clone())
        .register_task_defs(pb::RegisterTaskDefsRequest { definitions: defs })
        .await
        .unwrap();
}

#[tokio::test]
async fn http_conductor_tokens_and_the_ui_session() {
    let dir = tempfile::tempdir().unwrap();
    let admin_key = bootstrap(dir.path());
    let server = Server::start_with(dir.path(), "127.0.0.1:0", &["--auth"]);
    let base = format!("{}/api", server.url());
    let http = http_client();

    let r = http
        .get(format!("{base}/metadata/workflow"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(body["code"], "UNAUTHENTICATED");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("needs credentials")
    );
    // Health and the UI's page need nothing.
    assert_eq!(
        http.get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(server.url() + "/").send().await.unwrap().status(),
        200
    );

    let bearer = |k: &str| format!("Bearer {k}");
    let made: Value = serde_json::from_str(
        &http
            .post(format!("{base}/admin/keys"))
            .header("authorization", bearer(&admin_key))
            .header("content-type", "application/json")
            .body((json!({"name": "conductor client", "role": "operator"})).to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let (key_id, secret) = (
        made["key"]["id"].as_str().unwrap().to_string(),
        made["secret"].as_str().unwrap().to_string(),
    );
    assert_eq!(made["key"]["role"], "operator");
    let r = http
        .post(format!("{base}/admin/keys"))
        .header("authorization", bearer(&admin_key))
        .header("content-type", "application/json")
        .body((json!({"name": "x", "role": "root"})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Conductor's exchange: keyId and keySecret for a token sent as X-Authorization.
    let r = http
        .post(format!("{base}/token"))
        .header("content-type", "application/json")
        .body((json!({"keyId": key_id, "keySecret": "wrong"})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let t: Value = serde_json::from_str(
        &http
            .post(format!("{base}/token"))
            .header("content-type", "application/json")
            .body((json!({"keyId": key_id, "keySecret": secret})).to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let token = t["token"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{base}/metadata/taskdefs"))
        .header("x-authorization", &token)
        .header("content-type", "application/json")
        .body((json!([{"name": "http_auth_task"}])).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "an operator may not define");
    let r = http
        .get(format!("{base}/metadata/taskdefs"))
        .header("x-authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A forged token (its signature changed) is refused.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let r = http
        .get(format!("{base}/metadata/taskdefs"))
        .header("x-authorization", &forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The UI: who am I, sign in (a cookie), use it, sign out.
    let s: Value = serde_json::from_str(
        &http
            .get(format!("{base}/session"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(s, json!({"authEnabled": true, "signedIn": false}));
    let r = http
        .post(format!("{base}/session"))
        .header("content-type", "application/json")
        .body((json!({"key": "bk_0011223344556677_00"})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{base}/session"))
        .header("content-type", "application/json")
        .body((json!({"key": admin_key})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let s: Value = serde_json::from_str(
        &http
            .get(format!("{base}/session"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(s["signedIn"], true);
    assert_eq!(s["role"], "admin");
    let r = http
        .get(format!("{base}/admin/keys"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Revoking the key ends its tokens too.
    let r = http
        .delete(format!("{base}/admin/keys/{key_id}"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{base}/metadata/taskdefs"))
        .header("x-authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );

    // The audit log over HTTP.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Value = serde_json::from_str(
            &http
                .get(format!("{base}/admin/audit?outcome=denied&limit=100"))
                .header("cookie", &session)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        let rows = rows.as_array().unwrap();
        if rows
            .iter()
            .any(|r| r["action"] == "POST /api/metadata/taskdefs" && r["status"] == "403")
            && rows
                .iter()
                .any(|r| r["action"] == "POST /api/token" && r["status"] == "401")
            && rows
                .iter()
                .any(|r| r["action"] == "POST /api/session" && r["status"] == "401")
            && rows
                .iter()
                .any(|r| r["reason"].as_str().unwrap_or("").contains("revoked"))
            && rows
                .iter()
                .any(|r| r["action"] == "POST /api/token" && r["status"] == "401")
            && rows
                .iter()
                .any(|r| r["action"] == "POST /api/session" && r["status"] == "401")
        {
            break;
        }
        assert!(Instant::now() < deadline, "{rows:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = http
        .get(format!("{base}/admin/audit?outcome=maybe"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn without_auth_everything_is_open_and_the_token_route_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let base = format!("{}/api", server.url());
    let http = http_client();
    let s: Value = serde_json::from_str(
        &http
            .get(format!("{base}/session"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(s["authEnabled"], false);
    // A client configured for tokens runs without them, as against a server without auth.
    let r = http
        .post(format!("{base}/token"))
        .header("content-type", "application/json")
        .body((json!({"keyId": "a", "keySecret": "b"})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let ch = server.channel().await;
    let keys = AdminServiceClient::new(ch.clone())
        .list_api_keys(pb::ListApiKeysRequest {})
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert!(keys.is_empty());
    // No audit log without --auth or --audit.
    register_task_defs(&ch, json!([{"name": "open_task"}])).await;
    let events = AdminServiceClient::new(ch.clone())
        .list_audit_events(pb::ListAuditEventsRequest {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert!(events.is_empty());
    drop(server);

    // With --audit alone, actions are recorded as anonymous.
    let server = Server::start_with(dir.path(), "127.0.0.1:0", &["--audit"]);
    let ch = server.channel().await;
    register_task_defs(&ch, json!([{"name": "open_task_2"}])).await;
    let anon = with_key(&ch, None);
    let events = audit_until(
        &anon,
        pb::ListAuditEventsRequest {
            limit: 10,
            ..Default::default()
        },
        "the registration",
        |e| e.iter().any(|e| e.action.ends_with("RegisterTaskDefs")),
    )
    .await;
    assert_eq!(events[0].actor, "anonymous");
}

#[test]
fn a_non_loopback_address_needs_auth_or_an_explicit_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, _, err) = baton(&["server", "--data-dir", data, "--listen", "0.0.0.0:0"]);
    assert!(!ok);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 without --auth")
            && err.contains("--insecure-no-auth"),
        "{err}"
    );
    // With --insecure-no-auth it serves (told explicitly), as it does with --auth.
    for flag in ["--insecure-no-auth", "--auth"] {
        let server = Server::start_with(dir.path(), "0.0.0.0:0", &[flag]);
        assert!(server.addr.starts_with("0.0.0.0:"), "{}", server.addr);
    }

    // Bootstrap names the problem when the server holds the store.
    let server = Server::start(dir.path());
    let (ok, _, err) = baton(&["auth", "bootstrap", "--data-dir", data]);
    assert!(!ok);
    assert!(err.contains("stop the server first"), "{err}");
    drop(server);
    let (ok, out, err) = baton(&["auth", "bootstrap", "--data-dir", data, "--name", " "]);
    assert!(!ok, "{out}");
    assert!(err.contains("needs a name"), "{err}");
}

#[tokio::test]
async fn a_config_file_turns_auth_on() {
    let dir = tempfile::tempdir().unwrap();
    let admin_key = bootstrap(dir.path());
    let config = dir.path().join("baton.toml");
    std::fs::write(&config, "auth = true\naudit-keep = 5000\n").unwrap();
    let server = Server::start_with(
        dir.path(),
        "127.0.0.1:0",
        &["--config", config.to_str().unwrap()],
    );
    let ch = server.channel().await;
    let e = MetadataServiceClient::new(with_key(&ch, None))
        .list_task_defs(pb::ListTaskDefsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    MetadataServiceClient::new(with_key(&ch, Some(&admin_key)))
        .list_task_defs(pb::ListTaskDefsRequest::default())
        .await
        .unwrap();
}
