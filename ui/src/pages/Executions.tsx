import { useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import {
  request, qs, fmtTime, fmtDuration, WORKFLOW_STATUSES,
  type SearchResult, type WorkflowSummary, type BulkResponse,
} from "../api";
import { useApi, StatusBadge, ErrorBox, Pager, Modal } from "../components/common";

/** Every filter lives in the URL; these are its keys. */
const KEYS = ["names", "id", "cid", "status", "from", "to", "q", "query"] as const;
type Filters = Record<(typeof KEYS)[number], string>;

const quote = (s: string) => `'${s.replace(/'/g, "\\'")}'`;
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

/** Conductor's query syntax from the filter fields. */
export function buildQuery(f: Filters): string {
  const parts: string[] = [];
  const names = list(f.names);
  if (names.length) parts.push(`workflowType IN (${names.join(",")})`);
  if (f.id.trim()) parts.push(`workflowId = ${quote(f.id.trim())}`);
  if (f.cid.trim()) parts.push(`correlationId = ${quote(f.cid.trim())}`);
  const st = list(f.status);
  if (st.length) parts.push(`status IN (${st.join(",")})`);
  const from = f.from ? new Date(f.from).getTime() : NaN;
  const to = f.to ? new Date(f.to).getTime() : NaN;
  if (!isNaN(from)) parts.push(`startTime > ${from}`);
  if (!isNaN(to)) parts.push(`startTime < ${to}`);
  if (f.query.trim()) parts.push(parts.length ? `(${f.query.trim()})` : f.query.trim());
  return parts.join(" AND ");
}

const COLUMNS: { key: string; label: string; sort?: string }[] = [
  { key: "workflowType", label: "Workflow", sort: "workflowType" },
  { key: "workflowId", label: "Workflow id", sort: "workflowId" },
  { key: "status", label: "Status", sort: "status" },
  { key: "startTime", label: "Start time", sort: "startTime" },
  { key: "endTime", label: "End time", sort: "endTime" },
  { key: "executionTime", label: "Duration", sort: "executionTime" },
  { key: "correlationId", label: "Correlation id", sort: "correlationId" },
  { key: "reason", label: "Reason" },
];

const BULK = {
  pause: { label: "Pause", method: "PUT", path: "/workflow/bulk/pause" },
  resume: { label: "Resume", method: "PUT", path: "/workflow/bulk/resume" },
  retry: { label: "Retry", method: "POST", path: "/workflow/bulk/retry" },
  restart: { label: "Restart", method: "POST", path: "/workflow/bulk/restart" },
  terminate: { label: "Terminate", method: "POST", path: "/workflow/bulk/terminate" },
  remove: { label: "Remove", method: "DELETE", path: "/workflow/bulk/remove" },
} as const;
type BulkAction = keyof typeof BULK;

export function ExecutionsPage() {
  const [params, setParams] = useSearchParams();
  const applied: Filters = useMemo(() => {
    const f = {} as Filters;
    for (const k of KEYS) f[k] = params.get(k) ?? "";
    return f;
  }, [params]);
  const sort = params.get("sort") ?? "startTime:DESC";
  const size = Number(params.get("size") ?? 25) || 25;
  const start = Number(params.get("start") ?? 0) || 0;
  const query = buildQuery(applied);
  const apiPath = "/workflow/search" + qs({ start, size, sort, freeText: applied.q || "*", query });

  const search = useApi(apiPath, () => request<SearchResult<WorkflowSummary>>("GET", apiPath));
  const names = useApi("names", () => request<Record<string, unknown>>("GET", "/metadata/workflow/names-and-versions"));

  const [draft, setDraft] = useState<Filters>(applied);
  useEffect(() => setDraft(applied), [applied]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  useEffect(() => setSelected(new Set()), [apiPath]);
  const [bulk, setBulk] = useState<BulkAction | null>(null);
  const [outcome, setOutcome] = useState<{ action: string; res: BulkResponse } | null>(null);

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
    update({ ...draft, start: null });
  };
  const reset = () => setParams(new URLSearchParams(sort !== "startTime:DESC" ? { sort } : {}));

  const [sortField, sortDir] = sort.split("|")[0].split(":");
  const onSort = (field: string) => {
    const dir = sortField === field && sortDir === "DESC" ? "ASC" : sortField === field ? "DESC" : "ASC";
    update({ sort: `${field}:${dir}`, start: null });
  };

  const rows = search.data?.results ?? [];
  const total = search.data?.totalHits ?? 0;
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.workflowId));
  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.workflowId)));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const statuses = new Set(list(draft.status));
  const toggleStatus = (s: string) => {
    const n = new Set(statuses);
    if (n.has(s)) n.delete(s);
    else n.add(s);
    setDraft({ ...draft, status: WORKFLOW_STATUSES.filter((x) => n.has(x)).join(",") });
  };
  const nameOptions = Object.keys(names.data ?? {}).sort();
  // On a phone the filters fold away behind a button; on wider screens they are always shown.
  const [filtersOpen, setFiltersOpen] = useState(false);
  const active = KEYS.filter((k) => applied[k]).length;

  return (
    <section className="page" aria-labelledby="exec-title">
      <div className="page-head">
        <h1 id="exec-title">Executions</h1>
        <button className="btn" onClick={search.reload} aria-label="Refresh results">
          ↻ Refresh
        </button>
      </div>
      <button
        className="btn filters-toggle"
        aria-expanded={filtersOpen}
        aria-controls="exec-filters"
        onClick={() => setFiltersOpen((o) => !o)}
      >
        Filters{active ? ` (${active} active)` : ""} {filtersOpen ? "▴" : "▾"}
      </button>
      <form id="exec-filters" className={`filters ${filtersOpen ? "open" : ""}`} onSubmit={apply} aria-label="Search filters">
        <label>
          Workflow names
          <input
            name="names"
            list="wf-names"
            placeholder="name, other_name"
            value={draft.names}
            onChange={(e) => setDraft({ ...draft, names: e.target.value })}
          />
          <datalist id="wf-names">
            {nameOptions.map((n) => (
              <option key={n} value={draft.names && !draft.names.endsWith(",") ? n : draft.names + n} />
            ))}
          </datalist>
        </label>
        <label>
          Workflow id
          <input name="id" value={draft.id} onChange={(e) => setDraft({ ...draft, id: e.target.value })} />
        </label>
        <label>
          Correlation id
          <input name="cid" value={draft.cid} onChange={(e) => setDraft({ ...draft, cid: e.target.value })} />
        </label>
        <label>
          Started after
          <input name="from" type="datetime-local" step="1" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </label>
        <label>
          Started before
          <input name="to" type="datetime-local" step="1" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <label>
          Free text
          <input name="q" type="search" placeholder="*" value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
        </label>
        <fieldset className="status-filter">
          <legend>Status</legend>
          {WORKFLOW_STATUSES.map((s) => (
            <label key={s} className={`chip ${statuses.has(s) ? "on" : ""}`}>
              <input type="checkbox" checked={statuses.has(s)} onChange={() => toggleStatus(s)} />
              {s}
            </label>
          ))}
        </fieldset>
        <label className="wide">
          Query <span className="hint">(e.g. <code>version = 2 AND executionTime &gt; 1000</code>)</span>
          <input name="query" className="mono" value={draft.query} onChange={(e) => setDraft({ ...draft, query: e.target.value })} />
        </label>
        <div className="filter-actions">
          <button type="submit" className="btn primary">Search</button>
          <button type="button" className="btn" onClick={reset}>Reset</button>
          {query && (
            <code className="effective" title="The query sent to the server">{query}</code>
          )}
        </div>
      </form>

      <ErrorBox error={search.error} />

      <div className="bulkbar" role="toolbar" aria-label="Bulk actions">
        <span>{selected.size ? `${selected.size} selected` : "Select runs for bulk actions"}</span>
        {(Object.keys(BULK) as BulkAction[]).map((a) => (
          <button key={a} className={`btn ${a === "terminate" || a === "remove" ? "danger" : ""}`} disabled={!selected.size} onClick={() => setBulk(a)}>
            {BULK[a].label}
          </button>
        ))}
      </div>

      {outcome && <BulkOutcome {...outcome} onClose={() => setOutcome(null)} />}

      <div className="table-wrap" aria-busy={search.loading}>
        <table className="grid executions" aria-label="Workflow executions">
          <thead>
            <tr>
              <th className="sel">
                <input type="checkbox" aria-label="Select all on this page" checked={allSelected} onChange={toggleAll} />
              </th>
              {COLUMNS.map((c) => (
                <th key={c.key} aria-sort={sortField === c.sort ? (sortDir === "ASC" ? "ascending" : "descending") : undefined}>
                  {c.sort ? (
                    <button className="sort" onClick={() => onSort(c.sort!)}>
                      {c.label}
                      <span aria-hidden="true">{sortField === c.sort ? (sortDir === "ASC" ? " ▲" : " ▼") : ""}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.workflowId} className={selected.has(r.workflowId) ? "selected" : ""}>
                <td className="sel">
                  <input type="checkbox" aria-label={`Select ${r.workflowId}`} checked={selected.has(r.workflowId)} onChange={() => toggle(r.workflowId)} />
                </td>
                <td data-label="Workflow">
                  {r.workflowType} <span className="muted">v{r.version}</span>
                </td>
                <td data-label="Id" className="mono">
                  <Link to={`/execution/${r.workflowId}`}>{r.workflowId}</Link>
                </td>
                <td data-label="Status"><StatusBadge status={r.status} /></td>
                <td data-label="Start">{fmtTime(r.startTime)}</td>
                <td data-label="End">{fmtTime(r.endTime)}</td>
                <td data-label="Duration">{r.endTime ? fmtDuration(r.executionTime) : ""}</td>
                <td data-label="Correlation" className="mono">{r.correlationId}</td>
                <td data-label="Reason" className="reason">{r.reasonForIncompletion}</td>
              </tr>
            ))}
            {!search.loading && rows.length === 0 && (
              <tr>
                <td colSpan={COLUMNS.length + 1} className="empty">No executions match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <label className="inline">
          Sort{" "}
          <select aria-label="Sort by" value={`${sortField}:${sortDir}`} onChange={(e) => update({ sort: e.target.value, start: null })}>
            {COLUMNS.filter((c) => c.sort).flatMap((c) => [
              <option key={c.sort + "D"} value={`${c.sort}:DESC`}>{c.label} ↓</option>,
              <option key={c.sort + "A"} value={`${c.sort}:ASC`}>{c.label} ↑</option>,
            ])}
          </select>
        </label>
        <Pager start={start} size={size} total={total} onStart={(n) => update({ start: String(n) })}
          onSize={(n) => update({ size: String(n), start: null })} />
      </nav>

      {bulk && (
        <BulkDialog
          action={bulk}
          ids={[...selected]}
          onClose={() => setBulk(null)}
          onDone={(res) => {
            setBulk(null);
            setOutcome({ action: BULK[bulk].label, res });
            setSelected(new Set());
            // The search index follows changes a moment later: look again once more.
            search.reload();
            setTimeout(search.reload, 1500);
          }}
        />
      )}
    </section>
  );
}

function BulkDialog({ action, ids, onClose, onDone }: {
  action: BulkAction;
  ids: string[];
  onClose: () => void;
  onDone: (r: BulkResponse) => void;
}) {
  const [reason, setReason] = useState("");
  const [latest, setLatest] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const b = BULK[action];
  const run = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const q = action === "terminate" ? qs({ reason }) : action === "restart" ? qs({ useLatestDefinitions: latest }) : "";
      onDone(await request<BulkResponse>(b.method, b.path + q, ids));
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <Modal title={`${b.label} ${ids.length} execution${ids.length === 1 ? "" : "s"}?`} onClose={onClose}>
      <form onSubmit={run} className="stack">
        {action === "terminate" && (
          <label>
            Reason
            <input autoFocus value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
        )}
        {action === "restart" && (
          <label className="check">
            <input type="checkbox" checked={latest} onChange={(e) => setLatest(e.target.checked)} /> Use the latest definitions
          </label>
        )}
        {action === "remove" && <p>Removed executions are deleted for good.</p>}
        <ErrorBox error={error} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className={`btn ${action === "terminate" || action === "remove" ? "danger" : "primary"}`} disabled={busy}>
            {b.label}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function BulkOutcome({ action, res, onClose }: { action: string; res: BulkResponse; onClose: () => void }) {
  const errors = Object.entries(res.bulkErrorResults ?? {});
  return (
    <div className="outcome" role="status" aria-label="Bulk outcome">
      <div className="outcome-head">
        <strong>
          {action}: {res.bulkSuccessfulResults.length} succeeded, {errors.length} failed
        </strong>
        <button className="btn small" onClick={onClose} aria-label="Dismiss outcome">✕</button>
      </div>
      <ul>
        {res.bulkSuccessfulResults.map((id) => (
          <li key={id} className="ok">
            ✓ <Link to={`/execution/${id}`} className="mono">{id}</Link>
          </li>
        ))}
        {errors.map(([id, msg]) => (
          <li key={id} className="bad">
            ✗ <Link to={`/execution/${id}`} className="mono">{id}</Link>: {msg}
          </li>
        ))}
      </ul>
    </div>
  );
}
