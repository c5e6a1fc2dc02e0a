//! The EVENT task with the built-in `conductor` provider against the real binary: an
//! event handler whose condition holds starts a workflow and completes a waiting task;
//! one whose condition fails does nothing; an unknown provider fails the task.

use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_runs_the_handlers_whose_condition_holds() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_workflow(
        &ch,
        &json!({"name": "waiter", "version": 1, "tasks": [
        {"name": "gate", "taskReferenceName": "gate", "type": "WAIT"}],
        "outputParameters": {"opened_by": "${gate.output.by}"}}),
    )
    .await;
    register_workflow(&ch, &json!({"name": "reacted", "version": 1, "tasks": [
        {"name": "n", "taskReferenceName": "n", "type": "NOOP"}],
        "outputParameters": {"amount": "${workflow.input.amount}", "from": "${workflow.input.from}"}}))
    .await;
    register_workflow(&ch, &json!({"name": "emitter", "version": 1, "tasks": [
        {"name": "emit", "taskReferenceName": "emit", "type": "EVENT", "sink": "conductor:orders",
         "inputParameters": {"amount": "${workflow.input.amount}", "waiter": "${workflow.input.waiter}"}}]}))
    .await;
    let handlers = [
        json!({"name": "big_orders", "event": "conductor:emitter:orders", "active": true,
        "condition": "$.amount > 100",
        "actions": [
          {"action": "start_workflow", "start_workflow": {"name": "reacted",
             "input": {"amount": "${amount}", "from": "${workflowInstanceId}"}, "correlationId": "evt"}},
          {"action": "complete_task", "complete_task": {"workflowId": "${waiter}", "taskRefName": "gate",
             "output": {"by": "${workflowType}"}}}
        ]}),
        json!({"name": "never", "event": "conductor:emitter:orders", "active": true, "condition": "$.amount < 0",
               "actions": [{"action": "fail_task", "fail_task": {"workflowId": "${waiter}", "taskRefName": "gate"}}]}),
    ];
    for h in handlers {
        MetadataServiceClient::new(ch.clone())
            .add_event_handler(pb::AddEventHandlerRequest {
                handler: Some(text_def(&h)),
            })
            .await
            .expect("add handler");
    }
    let waiter = start(&ch, "waiter", json!({})).await;
    let emitter = start(&ch, "emitter", json!({"amount": 250, "waiter": waiter})).await;
    let e = wait_terminal(&ch, &emitter, 20).await;
    assert_eq!(status(&e), pb::WorkflowStatus::Completed, "{e:#?}");
    // As in Conductor, a queue named by the sink belongs to the publishing workflow.
    assert_eq!(
        output(&e)["event_produced"],
        json!("conductor:emitter:orders")
    );
    let w = wait_terminal(&ch, &waiter, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    assert_eq!(output(&w), json!({"opened_by": "emitter"}));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = WorkflowServiceClient::new(ch.clone())
            .get_workflows_by_correlation_id(pb::GetWorkflowsByCorrelationIdRequest {
                name: "reacted".into(),
                correlation_id: "evt".into(),
                include_closed: true,
                include_tasks: false,
            })
            .await
            .unwrap()
            .into_inner()
            .workflows;
        if let Some(r) = found
            .iter()
            .find(|r| status(r) == pb::WorkflowStatus::Completed)
        {
            assert_eq!(output(r), json!({"amount": 250, "from": emitter}));
            // As in Conductor, the started workflow is told the event and the message (the
            // EVENT task's id) that started it.
            let input = serde_json::Value::Object(baton_grpc::convert::struct_to_object(
                r.input.as_ref().expect("an input"),
            ));
            let emit = e.tasks.iter().find(|t| t.reference_task_name == "emit");
            assert_eq!(
                input["conductor.event.name"],
                json!("conductor:emitter:orders")
            );
            assert_eq!(
                input["conductor.event.messageId"],
                json!(emit.expect("the EVENT task").task_id)
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the handler did not start the workflow"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // An unknown provider fails the task, naming it.
    register_workflow(
        &ch,
        &json!({"name": "bad_sink", "version": 1, "tasks": [
        {"name": "emit", "taskReferenceName": "emit", "type": "EVENT", "sink": "sqs:somewhere"}]}),
    )
    .await;
    let id = start(&ch, "bad_sink", json!({})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed);
    assert!(
        w.reason_for_incompletion.contains("sqs"),
        "{}",
        w.reason_for_incompletion
    );
}
