import { useMemo, useState } from "react";
import { Link } from "react-router";
import { request, fmtTime } from "../api";
import { ErrorBox, useInterval } from "../components/common";

const REFRESH_MS = 2000;

/** GET /tasks/queue/all/verbose: task type → domain (DEFAULT for none) → size, workers. */
type Verbose = Record<string, Record<string, { size?: number; workers?: number }>>;

interface PollData {
  queueName: string;
  domain?: string | null;
  workerId: string;
  lastPollTime: number;
}

interface WorkerInfo {
  kind: "STREAM" | "POLL";
  workerId: string;
  connectionId: number;
  taskTypes: string[];
  domain?: string | null;
  credits: number;
  inFlight: number;
  connectedTime?: number | null;
  lastSeenTime: number;
  pollsWaiting: number;
}

interface Snapshot {
  queues: Verbose;
  polls: PollData[];
  workers: WorkerInfo[];
}

const DEFAULT = "DEFAULT";

export function QueuesPage() {
  const [filter, setFilter] = useState("");
  const snap = useInterval<Snapshot>("queues", REFRESH_MS, async () => {
    const [queues, polls, workers] = await Promise.all([
      request<Verbose>("GET", "/tasks/queue/all/verbose"),
      request<PollData[]>("GET", "/tasks/queue/polldata/all"),
      request<WorkerInfo[]>("GET", "/tasks/workers"),
    ]);
    return { queues: queues ?? {}, polls: polls ?? [], workers: workers ?? [] };
  });
  const f = filter.trim().toLowerCase();

  // One row per task type and domain: known queues, and queues only seen polled.
  const rows = useMemo(() => {
    const m = new Map<string, { type: string; domain: string; size: number; streams: number; poll?: PollData }>();
    const key = (t: string, d: string) => `${t}\u0000${d}`;
    for (const [type, doms] of Object.entries(snap.data?.queues ?? {}))
      for (const [domain, v] of Object.entries(doms)) m.set(key(type, domain), { type, domain, size: v.size ?? 0, streams: v.workers ?? 0 });
    for (const p of snap.data?.polls ?? []) {
      const domain = p.domain || DEFAULT;
      const k = key(p.queueName, domain);
      const r = m.get(k) ?? { type: p.queueName, domain, size: 0, streams: 0 };
      if (!r.poll || r.poll.lastPollTime < p.lastPollTime) r.poll = p;
      m.set(k, r);
    }
    return [...m.values()]
      .filter((r) => !f || r.type.toLowerCase().includes(f) || r.domain.toLowerCase().includes(f))
      .sort((a, b) => a.type.localeCompare(b.type) || (a.domain === DEFAULT ? -1 : b.domain === DEFAULT ? 1 : a.domain.localeCompare(b.domain)));
  }, [snap.data, f]);
  const workers = useMemo(
    () =>
      (snap.data?.workers ?? []).filter(
        (w) => !f || w.workerId.toLowerCase().includes(f) || w.taskTypes.some((t) => t.toLowerCase().includes(f)) || (w.domain ?? "").toLowerCase().includes(f),
      ),
    [snap.data, f],
  );
  const waiting = rows.reduce((n, r) => n + r.size, 0);

  return (
    <section className="page" aria-labelledby="q-title">
      <div className="page-head">
        <div>
          <h1 id="q-title">Queues and workers</h1>
          <p className="small" role="status" aria-label="Refresh">
            {snap.paused ? (
              <span className="muted">Paused while this tab is hidden</span>
            ) : snap.at ? (
              <span className="live">updated {fmtTime(snap.at).slice(11, 19)} · every {REFRESH_MS / 1000} s</span>
            ) : (
              <span className="muted">Loading…</span>
            )}
          </p>
        </div>
        <label className="inline">
          Filter <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="task type, domain, worker" />
        </label>
      </div>
      <ErrorBox error={snap.error} />

      <h2>Queues <span className="muted small">{rows.length} · {waiting} task{waiting === 1 ? "" : "s"} waiting</span></h2>
      <div className="table-wrap">
        <table className="grid queues cards" aria-label="Queues">
          <thead>
            <tr><th>Task type</th><th>Domain</th><th className="num">Waiting</th><th className="num">Stream workers</th><th>Last poll</th><th>Polled by</th></tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.type + "/" + r.domain} data-queue={`${r.type}/${r.domain}`}>
                <td data-label="Task type"><Link to={`/taskdefs/${encodeURIComponent(r.type)}`}>{r.type}</Link></td>
                <td data-label="Domain">{r.domain === DEFAULT ? <span className="muted">default</span> : r.domain}</td>
                <td data-label="Waiting" className={r.size > 0 ? "num strong" : "num"}>{r.size}</td>
                <td data-label="Stream workers" className="num">{r.streams}</td>
                <td data-label="Last poll">{r.poll ? <span title={fmtTime(r.poll.lastPollTime)}>{ago(r.poll.lastPollTime, snap.at)}</span> : <span className="muted">never</span>}</td>
                <td data-label="Polled by" className="mono">{r.poll?.workerId}</td>
              </tr>
            ))}
            {snap.data && rows.length === 0 && <tr><td colSpan={6} className="empty">No queues.</td></tr>}
          </tbody>
        </table>
      </div>

      <h2>Workers <span className="muted small">{workers.length}</span></h2>
      <div className="table-wrap">
        <table className="grid workers cards" aria-label="Workers">
          <thead>
            <tr><th>Worker</th><th>Kind</th><th>Task types</th><th>Domain</th><th className="num">Credits</th><th className="num">In flight</th><th className="num">Polls waiting</th><th>Connected</th><th>Last seen</th></tr>
          </thead>
          <tbody>
            {workers.map((w) => (
              <tr key={`${w.workerId}/${w.connectionId}/${w.domain ?? ""}/${w.kind}`}>
                <td data-label="Worker" className="mono">{w.workerId}{w.connectionId ? <span className="muted"> #{w.connectionId}</span> : null}</td>
                <td data-label="Kind">{w.kind === "STREAM" ? "stream" : "poll"}</td>
                <td data-label="Task types">{w.taskTypes.join(", ")}</td>
                <td data-label="Domain">{w.domain ?? <span className="muted">default</span>}</td>
                <td data-label="Credits" className="num">{w.kind === "STREAM" ? w.credits : <span className="muted">–</span>}</td>
                <td data-label="In flight" className="num">{w.inFlight}</td>
                <td data-label="Polls waiting" className="num">{w.kind === "POLL" ? w.pollsWaiting : <span className="muted">–</span>}</td>
                <td data-label="Connected">{fmtTime(w.connectedTime ?? undefined)}</td>
                <td data-label="Last seen"><span title={fmtTime(w.lastSeenTime)}>{ago(w.lastSeenTime, snap.at)}</span></td>
              </tr>
            ))}
            {snap.data && workers.length === 0 && <tr><td colSpan={9} className="empty">No worker connected or polling in the last minute.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** "12 s ago", relative to the reading's time (the page's clock). */
function ago(t: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return fmtTime(t);
}
