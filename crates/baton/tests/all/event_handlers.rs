//! Event handlers on MetadataService against the real server: add, update, get, list,
//! delete, validation with JSON paths, and persistence across restarts.

use crate::support::*;
use baton_grpc::convert::struct_to_object;
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use serde_json::{Value, json};
use tonic::Code;
use tonic::transport::Channel;

fn client(ch: &Channel) -> MetadataServiceClient<Channel> {
    MetadataServiceClient::new(ch.clone())
}

fn handler(name: &str, event: &str, active: bool) -> Value {
    json!({
        "name": name,
        "event": event,
        "condition": "$.status == 'done'",
        "active": active,
        "description": "kept as given",
        "actions": [
            {"action": "start_workflow",
             "start_workflow": {"name": "follow_up", "input": {"id": "${id}"}}},
            {"action": "complete_task",
             "complete_task": {"workflowId": "${workflowId}", "taskRefName": "wait",
                               "output": {"ok": true}}}
        ]
    })
}

async fn add(ch: &Channel, v: &Value) -> Result<pb::EventHandlerInfo, tonic::Status> {
    client(ch)
        .add_event_handler(pb::AddEventHandlerRequest {
            handler: Some(text_def(v)),
        })
        .await
        .map(|r| r.into_inner().handler.expect("handler"))
}

async fn list(ch: &Channel, event: &str, active_only: bool) -> Vec<String> {
    client(ch)
        .list_event_handlers(pb::ListEventHandlersRequest {
            event: event.into(),
            active_only,
        })
        .await
        .unwrap()
        .into_inner()
        .handlers
        .into_iter()
        .map(|h| h.name)
        .collect()
}

fn definition(h: &pb::EventHandlerInfo) -> Value {
    Value::Object(
        h.definition
            .as_ref()
            .map(struct_to_object)
            .unwrap_or_default(),
    )
}

fn refused<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, words: &[&str]) {
    let e = r.expect_err("the call must be refused");
    assert_eq!(e.code(), code, "{e:?}");
    for w in words {
        assert!(e.message().contains(w), "{:?} lacks {w:?}", e.message());
    }
}

#[tokio::test]
async fn event_handlers_crud_validation_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;

    let info = add(&ch, &handler("on_done", "conductor:orders:notify", true))
        .await
        .unwrap();
    assert_eq!(info.name, "on_done");
    assert_eq!(info.event, "conductor:orders:notify");
    assert!(info.active);
    assert_eq!(
        definition(&info),
        handler("on_done", "conductor:orders:notify", true)
    );
    add(&ch, &handler("audit", "conductor:audit_queue", false))
        .await
        .unwrap();
    add(
        &ch,
        &handler("also_orders", "conductor:orders:notify", false),
    )
    .await
    .unwrap();

    assert_eq!(
        list(&ch, "", false).await,
        ["also_orders", "audit", "on_done"]
    );
    assert_eq!(
        list(&ch, "conductor:orders:notify", false).await,
        ["also_orders", "on_done"]
    );
    assert_eq!(
        list(&ch, "conductor:orders:notify", true).await,
        ["on_done"]
    );
    assert_eq!(list(&ch, "", true).await, ["on_done"]);
    assert!(list(&ch, "conductor:nothing", false).await.is_empty());

    // Duplicates, unknown names and malformed handlers are refused, naming the problem.
    refused(
        add(&ch, &handler("audit", "conductor:x", true)).await,
        Code::AlreadyExists,
        &["audit"],
    );
    refused(
        client(&ch)
            .update_event_handler(pb::UpdateEventHandlerRequest {
                handler: Some(text_def(&handler("ghost", "conductor:x", true))),
            })
            .await,
        Code::NotFound,
        &["ghost"],
    );
    refused(
        add(
            &ch,
            &json!({"name": "bad", "event": "conductor:q",
                    "actions": [{"action": "send_email"}]}),
        )
        .await,
        Code::InvalidArgument,
        &["$.actions[0].action", "send_email"],
    );
    refused(
        add(
            &ch,
            &json!({"actions": [{"action": "fail_task", "fail_task": {"taskId": "t"}}]}),
        )
        .await,
        Code::InvalidArgument,
        &["$.name", "$.event"],
    );
    refused(
        add(
            &ch,
            &json!({"name": "bad", "event": "conductor:q",
                    "actions": [{"action": "start_workflow", "start_workflow": {}}]}),
        )
        .await,
        Code::InvalidArgument,
        &["$.actions[0].start_workflow.name"],
    );
    refused(
        client(&ch)
            .add_event_handler(pb::AddEventHandlerRequest {
                handler: Some(pb::Definition {
                    body: Some(pb::definition::Body::JsonText("{oops".into())),
                }),
            })
            .await,
        Code::InvalidArgument,
        &["not valid JSON"],
    );
    refused(
        client(&ch)
            .get_event_handler(pb::GetEventHandlerRequest {
                name: "ghost".into(),
            })
            .await,
        Code::NotFound,
        &["ghost"],
    );
    refused(
        client(&ch)
            .delete_event_handler(pb::DeleteEventHandlerRequest {
                name: "ghost".into(),
            })
            .await,
        Code::NotFound,
        &["ghost"],
    );

    // Update, then delete.
    let updated = client(&ch)
        .update_event_handler(pb::UpdateEventHandlerRequest {
            handler: Some(text_def(&handler("audit", "conductor:audit_queue", true))),
        })
        .await
        .unwrap()
        .into_inner()
        .handler
        .unwrap();
    assert!(updated.active);
    client(&ch)
        .delete_event_handler(pb::DeleteEventHandlerRequest {
            name: "also_orders".into(),
        })
        .await
        .unwrap();

    // Everything survives a restart.
    drop(ch);
    let stopped = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(stopped.success());
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    assert_eq!(list(&ch, "", false).await, ["audit", "on_done"]);
    assert_eq!(list(&ch, "", true).await, ["audit", "on_done"]);
    let got = client(&ch)
        .get_event_handler(pb::GetEventHandlerRequest {
            name: "audit".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .handler
        .unwrap();
    assert_eq!(
        definition(&got),
        handler("audit", "conductor:audit_queue", true)
    );
}
