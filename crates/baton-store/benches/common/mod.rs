//! Realistic records shared by the benchmarks.

#![allow(dead_code)]

use baton_core::{Object, TaskInstance, WorkflowInstance};
use serde_json::json;

/// A JSON object with a dozen keys of mixed kinds, like a typical task input or output.
pub fn payload(seed: u64) -> Object {
    let v = json!({
        "orderId": format!("ord-{seed:08}"),
        "customerId": "cust-4f1c2a9e",
        "amount": 1249.95,
        "currency": "EUR",
        "quantity": 3,
        "express": true,
        "createdAt": 1_717_171_717_000_i64 + seed as i64,
        "tags": ["priority", "gift", "eu-west"],
        "address": {
            "street": "12 Rue des Lilas",
            "city": "Lyon",
            "zip": "69003",
            "country": "FR"
        },
        "items": [
            {"sku": "A-100", "qty": 1, "price": 499.99},
            {"sku": "B-220", "qty": 2, "price": 374.98}
        ],
        "note": "leave at the front desk if nobody answers",
        "attempt": null
    });
    match v {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A worker task instance as it looks once completed.
pub fn task(workflow_id: &str, seq: i32) -> TaskInstance {
    let v = json!({
        "taskId": format!("0190a4c2-7d4e-7b31-9c1d-{seq:012}"),
        "taskDefName": "charge_payment",
        "taskType": "SIMPLE",
        "referenceTaskName": "charge_payment_ref",
        "status": "COMPLETED",
        "input": payload(seq as u64),
        "output": payload(seq as u64 + 1),
        "seq": seq,
        "retryCount": 0,
        "pollCount": 1,
        "workflowId": workflow_id,
        "workflowType": "order_fulfilment",
        "workerId": "worker-host-17",
        "responseTimeoutSeconds": 3600,
        "scheduledTime": 1_717_171_717_000_i64,
        "firstScheduledTime": 1_717_171_717_000_i64,
        "readyTime": 1_717_171_717_000_i64,
        "startTime": 1_717_171_717_050_i64,
        "endTime": 1_717_171_717_900_i64,
        "updateTime": 1_717_171_717_900_i64,
        "correlationId": "corr-77",
        "token": "7.1a2b3c4d5e6f",
        "pastTokens": ["7.1a2b3c4d5e6f"],
        "leaseDeadline": 1_717_175_317_050_i64
    });
    serde_json::from_value(v).expect("a valid task instance")
}

/// A running workflow instance.
pub fn workflow(workflow_id: &str) -> WorkflowInstance {
    let v = json!({
        "workflowId": workflow_id,
        "workflowName": "order_fulfilment",
        "workflowVersion": 3,
        "status": "RUNNING",
        "input": payload(1),
        "output": payload(2),
        "correlationId": "corr-77",
        "createTime": 1_717_171_717_000_i64,
        "startTime": 1_717_171_717_000_i64,
        "updateTime": 1_717_171_717_900_i64,
        "nextSeq": 4
    });
    serde_json::from_value(v).expect("a valid workflow instance")
}

/// A workflow definition of six tasks (a switch and a fork among them), as snapshotted at
/// start.
pub fn definition() -> baton_core::WorkflowDef {
    let worker = |name: &str| {
        json!({
            "name": name,
            "taskReferenceName": format!("{name}_ref"),
            "type": "SIMPLE",
            "inputParameters": {
                "orderId": "${workflow.input.orderId}",
                "amount": "${workflow.input.amount}",
                "previous": "${validate_ref.output}"
            }
        })
    };
    let v = json!({
        "name": "order_fulfilment",
        "description": "validate, charge, then ship or refund",
        "version": 3,
        "schemaVersion": 2,
        "ownerEmail": "orders@example.com",
        "timeoutSeconds": 3600,
        "timeoutPolicy": "TIME_OUT_WF",
        "inputParameters": ["orderId", "amount"],
        "outputParameters": {"shipment": "${ship_ref.output.trackingId}"},
        "tasks": [
            worker("validate"),
            worker("charge"),
            {
                "name": "route",
                "taskReferenceName": "route_ref",
                "type": "SWITCH",
                "evaluatorType": "value-param",
                "expression": "switchCaseValue",
                "inputParameters": {"switchCaseValue": "${charge_ref.output.status}"},
                "decisionCases": {
                    "OK": [worker("ship")],
                    "DECLINED": [worker("refund")]
                },
                "defaultCase": [worker("notify")]
            },
            {
                "name": "fanout",
                "taskReferenceName": "fanout_ref",
                "type": "FORK_JOIN",
                "forkTasks": [[worker("email")], [worker("audit")]]
            },
            {
                "name": "join",
                "taskReferenceName": "join_ref",
                "type": "JOIN",
                "joinOn": ["email_ref", "audit_ref"]
            }
        ]
    });
    serde_json::from_value(v).expect("a valid definition")
}
