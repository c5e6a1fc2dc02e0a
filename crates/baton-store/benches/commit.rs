//! Group commit: one batch of N task writes applied and flushed, and a flush alone, under the
//! default options and under sled's own defaults.

mod common;

use std::time::Duration;

use baton_core::TaskInstance;
use baton_store::{SledOptions, SledStore, Store, Write, WriteBatch};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Distinct workflows the benchmark writes to; later batches overwrite earlier tasks, as
/// the engine rewrites a task at each status change.
const WORKFLOWS: u64 = 2_000;
/// Tasks per workflow.
const TASKS_PER_WORKFLOW: u64 = 10;

fn configs() -> Vec<(&'static str, SledOptions)> {
    vec![
        ("default", SledOptions::default()),
        (
            "sled_defaults",
            SledOptions {
                cache_capacity: 1024 * 1024 * 1024,
                flush_every_ms: Some(500),
                ..SledOptions::default()
            },
        ),
    ]
}

struct Writer {
    template: TaskInstance,
    next: u64,
}

impl Writer {
    fn batch(&mut self, n: usize) -> WriteBatch {
        let mut batch = WriteBatch::default();
        for _ in 0..n {
            let i = self.next % (WORKFLOWS * TASKS_PER_WORKFLOW);
            self.next += 1;
            let mut t = self.template.clone();
            t.workflow_id = format!("0190a4c2-0000-7000-8000-{:012}", i / TASKS_PER_WORKFLOW);
            t.seq = (i % TASKS_PER_WORKFLOW) as i32 + 1;
            t.task_id = format!("0190a4c2-1111-7000-8000-{i:012}");
            t.update_time += self.next as i64;
            batch.push(Write::PutNewTask(t));
        }
        batch
    }
}

fn commit(c: &mut Criterion) {
    for (label, options) in configs() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open_with(dir.path(), options).unwrap();
        let mut writer = Writer {
            template: common::task("", 1),
            next: 0,
        };

        let mut g = c.benchmark_group(format!("commit/{label}"));
        g.sample_size(20).measurement_time(Duration::from_secs(6));
        for n in [1usize, 100, 1000] {
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new("apply+flush", n), &n, |b, &n| {
                b.iter_batched_ref(
                    || writer.batch(n),
                    |batch| {
                        store.apply(batch).unwrap();
                        store.flush().unwrap();
                    },
                    criterion::BatchSize::PerIteration,
                )
            });
            g.bench_with_input(BenchmarkId::new("apply", n), &n, |b, &n| {
                b.iter_batched_ref(
                    || writer.batch(n),
                    |batch| store.apply(batch).unwrap(),
                    criterion::BatchSize::PerIteration,
                )
            });
        }
        g.throughput(Throughput::Elements(1));
        store.flush().unwrap();
        g.bench_function("flush/nothing_pending", |b| {
            b.iter(|| store.flush().unwrap())
        });
        g.finish();
        drop(store);
    }
}

criterion_group!(benches, commit);
criterion_main!(benches);
