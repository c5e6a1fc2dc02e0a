import { useMemo } from "react";
import { Link, useSearchParams } from "react-router";
import { request, fmtTime } from "../api";
import { ErrorBox, StatusBadge, useInterval } from "../components/common";
import { Chart, type Series } from "../components/Chart";

/** The server samples every ten seconds; reading as often keeps the charts current. */
const REFRESH_MS = 10_000;
const RANGES = [15, 30, 60] as const;

interface Quantiles {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** One sample of GET /api/admin/metrics. */
export interface Sample {
  at: number;
  intervalMs: number;
  workflowsStarted: number;
  workflowsCompleted: number;
  workflowsFailed: number;
  workflowsTerminated: number;
  tasksCompleted: number;
  tasksFailed: number;
  queueWait: Quantiles;
  runTime: Quantiles;
  queueDepth: number;
  workers: number;
}

interface History {
  serverTime: number;
  sampleEveryMs: number;
  samples: Sample[];
}

interface Overview {
  serverTime: number;
  startTime: number;
  latencies: { taskType: string; scheduleToStart: Quantiles; startToEnd: Quantiles }[];
  queues: { taskType: string; domain?: string | null; depth: number; subscribers: number }[];
  workers: unknown[];
  recentFailures: { workflowId: string; workflowType: string; version: number; status: string; endTime?: number | null; reason?: string | null }[];
  recentFailuresAvailable: boolean;
}

const perSecond = (n: number, s: Sample) => (s.intervalMs > 0 ? n / (s.intervalMs / 1000) : 0);

/** The key figures over the last minutes: throughput, failures, latencies, queues. */
export function DashboardPage() {
  const [params, setParams] = useSearchParams();
  const asked = Number(params.get("minutes"));
  const minutes = (RANGES as readonly number[]).includes(asked) ? asked : 60;
  const snap = useInterval(`dashboard:${minutes}`, REFRESH_MS, async () => {
    const [history, overview] = await Promise.all([
      request<History>("GET", `/admin/metrics?minutes=${minutes}`),
      request<Overview>("GET", "/admin/overview?recentFailures=5"),
    ]);
    return { history, overview };
  });
  const samples = snap.data?.history.samples ?? [];
  const overview = snap.data?.overview;

  const serverTime = snap.data?.history.serverTime ?? 0;
  const shown: [number, number] = useMemo(() => [serverTime - minutes * 60_000, serverTime], [serverTime, minutes]);
  const charts = useMemo(() => {
    const times = samples.map((s) => s.at);
    const line = (label: string, color: string, f: (s: Sample) => number | null): Series => ({ label, color, values: samples.map(f) });
    return {
      times,
      throughput: [
        line("workflows started/s", "--st-running", (s) => perSecond(s.workflowsStarted, s)),
        line("workflows completed/s", "--st-completed", (s) => perSecond(s.workflowsCompleted, s)),
        line("tasks completed/s", "--accent", (s) => perSecond(s.tasksCompleted, s)),
      ],
      failures: [
        line("workflows failed", "--st-failed", (s) => s.workflowsFailed),
        line("workflows terminated", "--st-terminated", (s) => s.workflowsTerminated),
        line("tasks failed", "--st-timed-out", (s) => s.tasksFailed),
      ],
      latency: [
        line("run p50", "--st-completed", (s) => (s.runTime.count ? s.runTime.p50Ms : null)),
        line("run p99", "--st-running", (s) => (s.runTime.count ? s.runTime.p99Ms : null)),
        line("queue wait p50", "--st-scheduled", (s) => (s.queueWait.count ? s.queueWait.p50Ms : null)),
        line("queue wait p99", "--st-timed-out", (s) => (s.queueWait.count ? s.queueWait.p99Ms : null)),
      ],
      queues: [
        line("tasks queued", "--st-scheduled", (s) => s.queueDepth),
        line("worker subscriptions", "--st-completed", (s) => s.workers),
      ],
    };
  }, [samples]);

  const sum = (f: (s: Sample) => number) => samples.reduce((n, s) => n + f(s), 0);
  const queued = overview?.queues.reduce((n, q) => n + q.depth, 0) ?? 0;
  const tiles: [string, number | string, string?][] = [
    ["Workflows started", sum((s) => s.workflowsStarted)],
    ["Workflows completed", sum((s) => s.workflowsCompleted), "st-COMPLETED"],
    ["Workflows failed", sum((s) => s.workflowsFailed), "st-FAILED"],
    ["Workflows terminated", sum((s) => s.workflowsTerminated), "st-TERMINATED"],
    ["Tasks completed", sum((s) => s.tasksCompleted), "st-COMPLETED"],
    ["Tasks failed", sum((s) => s.tasksFailed), "st-FAILED"],
    ["Tasks queued now", queued],
    ["Workers now", overview?.workers.length ?? 0],
  ];

  return (
    <section className="page" aria-labelledby="dash-title">
      <div className="page-head">
        <div>
          <h1 id="dash-title">Dashboard</h1>
          <p className="muted small">
            The last {minutes} minutes, one sample every {(snap.data?.history.sampleEveryMs ?? REFRESH_MS) / 1000} s
            {snap.at ? <> · read {new Date(snap.at).toLocaleTimeString()}</> : null}
            {snap.paused ? " · paused while the page is hidden" : null}
          </p>
        </div>
        <div className="segmented" role="group" aria-label="Time range">
          {RANGES.map((m) => (
            <button
              key={m}
              aria-pressed={m === minutes}
              className={m === minutes ? "active" : undefined}
              onClick={() => setParams(m === 60 ? {} : { minutes: String(m) })}
            >
              {m} min
            </button>
          ))}
        </div>
      </div>
      <ErrorBox error={snap.error} />
      <ul className="tiles" aria-label={`Totals over the last ${minutes} minutes`}>
        {tiles.map(([label, value, cls]) => (
          <li key={label} className="tile" data-testid={`tile-${label}`}>
            <span className={`tile-value ${cls ?? ""}`}>{value}</span>
            <span className="tile-label">{label}</span>
          </li>
        ))}
      </ul>
      {snap.data && samples.length === 0 ? (
        <p className="empty-note" role="status">
          No samples yet: the server takes its first ten seconds after it starts.
        </p>
      ) : null}
      {samples.length > 0 ? (
        <div className="charts">
          <Chart window={shown} title="Throughput" unit="/s" times={charts.times} series={charts.throughput} />
          <Chart window={shown} title="Failures per interval" times={charts.times} series={charts.failures} />
          <Chart window={shown} title="Task latencies" unit="ms" times={charts.times} series={charts.latency} />
          <Chart window={shown} title="Queues and workers" times={charts.times} series={charts.queues} />
        </div>
      ) : null}
      <div className="dash-tables">
        <div>
          <h2>Latencies by task type <span className="hint small">(last one to two minutes)</span></h2>
          <div className="table-wrap">
            <table className="grid compact">
              <thead>
                <tr>
                  <th>Task type</th>
                  <th>Runs</th>
                  <th>Run p50</th>
                  <th>Run p99</th>
                  <th>Wait p50</th>
                  <th>Wait p99</th>
                </tr>
              </thead>
              <tbody>
                {(overview?.latencies ?? []).map((l) => (
                  <tr key={l.taskType}>
                    <td>{l.taskType}</td>
                    <td>{l.startToEnd.count}</td>
                    <td>{l.startToEnd.p50Ms} ms</td>
                    <td>{l.startToEnd.p99Ms} ms</td>
                    <td>{l.scheduleToStart.count ? `${l.scheduleToStart.p50Ms} ms` : "–"}</td>
                    <td>{l.scheduleToStart.count ? `${l.scheduleToStart.p99Ms} ms` : "–"}</td>
                  </tr>
                ))}
                {overview && overview.latencies.length === 0 ? (
                  <tr>
                    <td colSpan={6} className="empty">No task ended in the last minutes.</td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
        </div>
        <div>
          <h2>Recent failures</h2>
          <div className="table-wrap">
            <table className="grid compact">
              <thead>
                <tr>
                  <th>Execution</th>
                  <th>Status</th>
                  <th>Ended</th>
                  <th>Reason</th>
                </tr>
              </thead>
              <tbody>
                {(overview?.recentFailures ?? []).map((f) => (
                  <tr key={f.workflowId}>
                    <td>
                      <Link to={`/execution/${encodeURIComponent(f.workflowId)}`}>{f.workflowType} v{f.version}</Link>
                    </td>
                    <td>
                      <StatusBadge status={f.status} />
                    </td>
                    <td>{fmtTime(f.endTime ?? undefined)}</td>
                    <td className="reason" title={f.reason ?? ""}>{f.reason ?? ""}</td>
                  </tr>
                ))}
                {overview && overview.recentFailures.length === 0 ? (
                  <tr>
                    <td colSpan={4} className="empty">
                      {overview.recentFailuresAvailable ? "No failed executions." : "The search index is not ready yet."}
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
        </div>
      </div>
    </section>
  );
}
