import { useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { request, qs, fmtTime, type AuditEvent } from "../api";
import { useApi, ErrorBox, RoleBadge } from "../components/common";
import { useSession } from "../session";

/** The filters live in the URL; these are their keys. */
const KEYS = ["actor", "action", "outcome", "since"] as const;
type Filters = Record<(typeof KEYS)[number], string>;

const SPANS: Record<string, { label: string; ms: number }> = {
  hour: { label: "Last hour", ms: 3600_000 },
  day: { label: "Last day", ms: 86_400_000 },
  week: { label: "Last week", ms: 7 * 86_400_000 },
};
const OUTCOMES = ["ok", "denied", "failed"];
const SIZES = [10, 25, 50, 100, 250];

export function AuditPage() {
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const applied: Filters = useMemo(() => {
    const f = {} as Filters;
    for (const k of KEYS) f[k] = params.get(k) ?? "";
    return f;
  }, [params]);
  const before = params.get("before") ?? "";
  const limit = Number(params.get("limit") ?? 50) || 50;
  const [tick, setTick] = useState(0);
  const key = `${params.toString()}#${tick}`;
  const log = useApi(key, () => {
    const span = SPANS[applied.since];
    const query = qs({
      actor: applied.actor.trim(),
      action: applied.action.trim(),
      outcome: applied.outcome,
      since: span ? Date.now() - span.ms : undefined,
      before,
      limit,
    });
    return request<AuditEvent[]>("GET", "/admin/audit" + query);
  });
  const [draft, setDraft] = useState<Filters>(applied);
  useEffect(() => setDraft(applied), [applied]);
  const [filtersOpen, setFiltersOpen] = useState(false);
  const active = KEYS.filter((k) => applied[k]).length;

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    setParams(next);
  };
  const apply = (e?: React.FormEvent) => {
    e?.preventDefault();
    update({ ...draft, before: null });
  };
  const reset = () => setParams(new URLSearchParams(limit !== 50 ? { limit: String(limit) } : {}));

  const rows = log.data ?? [];
  const last = rows[rows.length - 1];
  return (
    <section className="page" aria-labelledby="audit-title">
      <div className="page-head">
        <div>
          <h1 id="audit-title">Audit log</h1>
          <p className="muted small">Every change allowed and every request refused, newest first.</p>
        </div>
        <button className="btn" onClick={() => setTick((t) => t + 1)} aria-label="Refresh the log">↻ Refresh</button>
      </div>
      <button
        className="btn filters-toggle"
        aria-expanded={filtersOpen}
        aria-controls="audit-filters"
        onClick={() => setFiltersOpen((o) => !o)}
      >
        Filters{active ? ` (${active} active)` : ""} {filtersOpen ? "▴" : "▾"}
      </button>
      <form id="audit-filters" className={`filters ${filtersOpen ? "open" : ""}`} onSubmit={apply} aria-label="Audit filters">
        <label>
          Actor
          <input name="actor" placeholder="key id or name" value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />
        </label>
        <label>
          Action
          <input name="action" type="search" placeholder="POST /api/workflow" value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} />
        </label>
        <label>
          Outcome
          <select name="outcome" value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}>
            <option value="">Any</option>
            {OUTCOMES.map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
        </label>
        <label>
          Since
          <select name="since" value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.target.value })}>
            <option value="">Any time</option>
            {Object.entries(SPANS).map(([k, s]) => <option key={k} value={k}>{s.label}</option>)}
          </select>
        </label>
        <div className="filter-actions">
          <button type="submit" className="btn primary">Search</button>
          <button type="button" className="btn" onClick={reset}>Reset</button>
        </div>
      </form>

      <ErrorBox error={log.error} />

      <div className="table-wrap" aria-busy={log.loading}>
        <table className="grid audit cards" aria-label="Audit log">
          <thead>
            <tr><th>Time</th><th>Actor</th><th>Role</th><th>Action</th><th>Access</th><th>Remote</th><th>Outcome</th><th className="num">Status</th><th>Reason</th></tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.seq} data-seq={e.seq} data-outcome={e.outcome}>
                <td data-label="Time" className="nowrap">{fmtTime(e.time)}</td>
                <td data-label="Actor">
                  <button type="button" className="linklike" title="Only this actor" onClick={() => update({ actor: e.actor, before: null })}>
                    {e.actorName || e.actor}
                  </button>
                  {e.actorName && <span className="mono muted small"> {e.actor}</span>}
                </td>
                <td data-label="Role">{e.role ? <RoleBadge role={e.role} /> : null}</td>
                <td data-label="Action" className="mono">{e.action}</td>
                <td data-label="Access">{e.access}</td>
                <td data-label="Remote" className="mono small">{e.remote}</td>
                <td data-label="Outcome"><span className={`badge outcome-${e.outcome}`}>{e.outcome}</span></td>
                <td data-label="Status" className="num">{e.status}</td>
                <td data-label="Reason" className="audit-reason">{e.reason}</td>
              </tr>
            ))}
            {log.data && rows.length === 0 && (
              <tr>
                <td colSpan={9} className="empty">
                  {before ? "No older entries." : active ? "No entries match." : "No entries."}
                  {!session.authEnabled && " This server keeps the audit log when it runs with --auth or --audit."}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <span className="count" data-testid="result-count">
          {rows.length} entr{rows.length === 1 ? "y" : "ies"}{before ? ` before #${before}` : ""}
        </span>
        <button className="btn" disabled={!before} onClick={() => update({ before: null })}>« Newest</button>
        <button className="btn" disabled={rows.length < limit || !last} onClick={() => update({ before: String(last!.seq) })}>
          Older ›
        </button>
        <label>
          Per page{" "}
          <select value={limit} onChange={(e) => update({ limit: e.target.value, before: null })}>
            {SIZES.map((n) => <option key={n}>{n}</option>)}
          </select>
        </label>
      </nav>
    </section>
  );
}
