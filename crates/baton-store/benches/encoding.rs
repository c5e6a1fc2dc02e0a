//! Record encoding: JSON against MessagePack (maps with field names), encode and decode.

mod common;

use std::hint::black_box;

use baton_core::{TaskInstance, WorkflowDef, WorkflowInstance};
use criterion::{Criterion, criterion_group, criterion_main};

fn encoding(c: &mut Criterion) {
    let task = common::task("0190a4c2-0000-7000-8000-000000000001", 3);
    let wf = common::workflow("0190a4c2-0000-7000-8000-000000000001");

    let task_json = serde_json::to_vec(&task).unwrap();
    let task_mp = rmp_serde::to_vec_named(&task).unwrap();
    let wf_json = serde_json::to_vec(&wf).unwrap();
    let wf_mp = rmp_serde::to_vec_named(&wf).unwrap();
    println!(
        "sizes: task json {} B, task msgpack {} B, workflow json {} B, workflow msgpack {} B",
        task_json.len(),
        task_mp.len(),
        wf_json.len(),
        wf_mp.len()
    );
    assert_eq!(
        rmp_serde::from_slice::<TaskInstance>(&task_mp).unwrap(),
        task
    );
    assert_eq!(
        rmp_serde::from_slice::<WorkflowInstance>(&wf_mp).unwrap(),
        wf
    );

    let mut g = c.benchmark_group("task");
    g.bench_function("json/encode", |b| {
        b.iter(|| serde_json::to_vec(black_box(&task)).unwrap())
    });
    g.bench_function("msgpack/encode", |b| {
        b.iter(|| rmp_serde::to_vec_named(black_box(&task)).unwrap())
    });
    g.bench_function("json/decode", |b| {
        b.iter(|| serde_json::from_slice::<TaskInstance>(black_box(&task_json)).unwrap())
    });
    g.bench_function("msgpack/decode", |b| {
        b.iter(|| rmp_serde::from_slice::<TaskInstance>(black_box(&task_mp)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("workflow");
    g.bench_function("json/encode", |b| {
        b.iter(|| serde_json::to_vec(black_box(&wf)).unwrap())
    });
    g.bench_function("msgpack/encode", |b| {
        b.iter(|| rmp_serde::to_vec_named(black_box(&wf)).unwrap())
    });
    g.bench_function("json/decode", |b| {
        b.iter(|| serde_json::from_slice::<WorkflowInstance>(black_box(&wf_json)).unwrap())
    });
    g.bench_function("msgpack/decode", |b| {
        b.iter(|| rmp_serde::from_slice::<WorkflowInstance>(black_box(&wf_mp)).unwrap())
    });
    g.finish();
}

fn snapshot(c: &mut Criterion) {
    let def = common::definition();
    let json = serde_json::to_vec(&def).unwrap();
    let mp = rmp_serde::to_vec_named(&def).unwrap();
    println!(
        "sizes: snapshot json {} B, snapshot msgpack {} B",
        json.len(),
        mp.len()
    );
    let mut g = c.benchmark_group("snapshot");
    g.bench_function("json/encode", |b| {
        b.iter(|| serde_json::to_vec(black_box(&def)).unwrap())
    });
    g.bench_function("json/decode", |b| {
        b.iter(|| serde_json::from_slice::<WorkflowDef>(black_box(&json)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, encoding, snapshot);
criterion_main!(benches);
