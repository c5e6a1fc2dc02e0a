//! Realistic records shared by the benchmarks.

#![allow(dead_code)]

use baton_core::{Object, TaskInstance, TaskStatus, WorkflowInstance, WorkflowStatus};
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
    TaskInstance {
        task_id: format!("0190a4c2-7d4e-7b31-9c1d-{:012}", seq),
        task_def_name: "charge_payment".into(),
        task_type: "SIMPLE".into(),
        reference_task_name: "charge_payment_ref".into(),
        status: TaskStatus::Completed,
        input: payload(seq as u64),
        output: payload(seq as u64 + 1),
        seq,
        retry_count: 0,
        poll_count: 1,
        workflow_id: workflow_id.into(),
        workflow_type: "order_fulfilment".into(),
        worker_id: Some("worker-host-17".into()),
        reason_for_incompletion: None,
        callback_after_seconds: 0,
        domain: None,
        retried_task_id: None,
        retried: false,
        response_timeout_seconds: 3600,
        scheduled_time: 1_717_171_717_000,
        first_scheduled_time: 1_717_171_717_000,
        ready_time: 1_717_171_717_000,
        start_time: Some(1_717_171_717_050),
        end_time: Some(1_717_171_717_900),
        update_time: 1_717_171_717_900,
        correlation_id: Some("corr-77".into()),
        priority: 0,
        optional: false,
        iteration: 0,
        token: Some("7.1a2b3c4d5e6f".into()),
        past_tokens: vec!["7.1a2b3c4d5e6f".into()],
        lease_deadline: Some(1_717_175_317_050),
        logs: Vec::new(),
    }
}

/// A running workflow instance.
pub fn workflow(workflow_id: &str) -> WorkflowInstance {
    WorkflowInstance {
        workflow_id: workflow_id.into(),
        workflow_name: "order_fulfilment".into(),
        workflow_version: 3,
        status: WorkflowStatus::Running,
        input: payload(1),
        output: payload(2),
        correlation_id: Some("corr-77".into()),
        priority: 0,
        reason_for_incompletion: None,
        variables: Object::new(),
        task_to_domain: Default::default(),
        create_time: 1_717_171_717_000,
        start_time: 1_717_171_717_000,
        end_time: None,
        update_time: 1_717_171_717_900,
        parent_workflow_id: None,
        parent_workflow_task_id: None,
        idempotency_key: None,
        failed_reference_task_name: None,
        next_seq: 4,
    }
}
