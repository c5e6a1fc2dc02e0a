import { useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { request, qs, fmtTime, fmtDuration, type SearchResult } from "../api";
import { useApi, StatusBadge, ErrorBox, Pager } from "../components/common";

export const TASK_STATUSES = [
  "SCHEDULED", "IN_PROGRESS", "COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED",
  "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "CANCELED", "SKIPPED",
];

/** One hit of GET /api/tasks/search. */
interface TaskSummary {
  taskId: string;
  taskDefName: string;
  taskType: string;
  status: string;
  workflowId: string;
  workflowType: string;
  correlationId?: string;
  scheduledTime: string;
  startTime?: string;
  endTime?: string;
  executionTime: number;
  queueWaitTime: number;
  reasonForIncompletion?: string;
  domain?: string;
}

/** Every filter lives in the URL; these are its keys. */
const KEYS = ["defs", "types", "wf", "id", "status", "from", "to", "q", "query"] as const;
type Filters = Record<(typeof KEYS)[number], string>;

const quote = (s: string) => `'${s.replace(/'/g, "\\'")}'`;
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

/** Conductor's query syntax from the filter fields. */
export function buildTaskQuery(f: Filters): string {
  const parts: string[] = [];
  const inList = (field: string, v: string) => {
    const l = list(v);
    if (l.length) parts.push(`${field} IN (${l.join(",")})`);
  };
  inList("taskDefName", f.defs);
  inList("taskType", f.types);
  inList("workflowType", f.wf);
  if (f.id.trim()) parts.push(`workflowId = ${quote(f.id.trim())}`);
  inList("status", f.status);
  const from = f.from ? new Date(f.from).getTime() : NaN;
  const to = f.to ? new Date(f.to).getTime() : NaN;
  if (!isNaN(from)) parts.push(`scheduledTime > ${from}`);
  if (!isNaN(to)) parts.push(`scheduledTime < ${to}`);
  if (f.query.trim()) parts.push(parts.length ? `(${f.query.trim()})` : f.query.trim());
  return parts.join(" AND ");
}

const COLUMNS: { label: string; sort?: string }[] = [
  { label: "Task", sort: "taskDefName" },
  { label: "Type", sort: "taskType" },
  { label: "Status", sort: "status" },
  { label: "Workflow", sort: "workflowType" },
  { label: "Scheduled", sort: "scheduledTime" },
  { label: "Started", sort: "startTime" },
  { label: "Ended", sort: "endTime" },
  { label: "Queue wait", sort: "queueWaitTime" },
  { label: "Ran", sort: "executionTime" },
  { label: "Reason" },
];

/** Task instances across every execution, searched by the server's task index. */
export function TaskSearchPage() {
  const [params, setParams] = useSearchParams();
  const applied: Filters = useMemo(() => {
    const f = {} as Filters;
    for (const k of KEYS) f[k] = params.get(k) ?? "";
    return f;
  }, [params]);
  const sort = params.get("sort") ?? "scheduledTime:DESC";
  const size = Number(params.get("size") ?? 25) || 25;
  const start = Number(params.get("start") ?? 0) || 0;
  const query = buildTaskQuery(applied);
  const apiPath = "/tasks/search" + qs({ start, size, sort, freeText: applied.q || "*", query });
  const search = useApi(apiPath, () => request<SearchResult<TaskSummary>>("GET", apiPath));
  const taskDefs = useApi("taskdefs", () => request<{ name: string }[]>("GET", "/metadata/taskdefs"));

  const [draft, setDraft] = useState<Filters>(applied);
  useEffect(() => setDraft(applied), [applied]);
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
  const reset = () => setParams(new URLSearchParams());
  const [sortField, sortDir] = sort.split(":");
  const onSort = (field: string) => {
    const dir = sortField === field && sortDir === "DESC" ? "ASC" : sortField === field ? "DESC" : "ASC";
    update({ sort: `${field}:${dir}`, start: null });
  };
  const statuses = new Set(list(draft.status));
  const toggleStatus = (s: string) => {
    const n = new Set(statuses);
    if (n.has(s)) n.delete(s);
    else n.add(s);
    setDraft({ ...draft, status: TASK_STATUSES.filter((x) => n.has(x)).join(",") });
  };
  const [filtersOpen, setFiltersOpen] = useState(false);
  const active = KEYS.filter((k) => applied[k]).length;
  const rows = search.data?.results ?? [];
  const total = search.data?.totalHits ?? 0;
  const field = (k: keyof Filters, label: string, extra: Record<string, string> = {}) => (
    <label>
      {label}
      <input name={k} value={draft[k]} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} {...extra} />
    </label>
  );

  return (
    <section className="page" aria-labelledby="tasks-title">
      <div className="page-head">
        <h1 id="tasks-title">Tasks</h1>
        <button className="btn" onClick={search.reload} aria-label="Refresh results">
          ↻ Refresh
        </button>
      </div>
      <button className="btn filters-toggle" aria-expanded={filtersOpen} aria-controls="task-filters" onClick={() => setFiltersOpen((o) => !o)}>
        Filters{active ? ` (${active} active)` : ""} {filtersOpen ? "▴" : "▾"}
      </button>
      <form id="task-filters" className={`filters ${filtersOpen ? "open" : ""}`} onSubmit={apply} aria-label="Task search filters">
        <label>
          Task definitions
          <input name="defs" list="task-def-names" placeholder="name, other_name" value={draft.defs} onChange={(e) => setDraft({ ...draft, defs: e.target.value })} />
          <datalist id="task-def-names">
            {(taskDefs.data ?? []).map((d) => (
              <option key={d.name} value={draft.defs && !draft.defs.endsWith(",") ? d.name : draft.defs + d.name} />
            ))}
          </datalist>
        </label>
        {field("types", "Task types", { placeholder: "SIMPLE, HTTP" })}
        {field("wf", "Workflow names")}
        {field("id", "Workflow id")}
        {field("from", "Scheduled after", { type: "datetime-local", step: "1" })}
        {field("to", "Scheduled before", { type: "datetime-local", step: "1" })}
        {field("q", "Free text", { type: "search", placeholder: "*" })}
        <fieldset className="status-filter">
          <legend>Status</legend>
          {TASK_STATUSES.map((s) => (
            <label key={s} className={`chip ${statuses.has(s) ? "on" : ""}`}>
              <input type="checkbox" checked={statuses.has(s)} onChange={() => toggleStatus(s)} />
              {s}
            </label>
          ))}
        </fieldset>
        <label className="wide">
          Query <span className="hint">(e.g. <code>queueWaitTime &gt; 1000 AND taskType = SIMPLE</code>)</span>
          <input name="query" className="mono" value={draft.query} onChange={(e) => setDraft({ ...draft, query: e.target.value })} />
        </label>
        <div className="filter-actions">
          <button type="submit" className="btn primary">Search</button>
          <button type="button" className="btn" onClick={reset}>Reset</button>
          {query && <code className="effective" title="The query sent to the server">{query}</code>}
        </div>
      </form>
      <ErrorBox error={search.error} />
      <div className="table-wrap" aria-busy={search.loading}>
        <table className="grid executions" aria-label="Task instances">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c.label} aria-sort={sortField === c.sort ? (sortDir === "ASC" ? "ascending" : "descending") : undefined}>
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
            {rows.map((t) => (
              <tr key={t.taskId}>
                <td data-label="Task">
                  <Link to={`/execution/${encodeURIComponent(t.workflowId)}?tab=tasks`} title={`Task ${t.taskId} of execution ${t.workflowId}`}>
                    {t.taskDefName}
                  </Link>
                  {t.domain ? <span className="muted small"> @{t.domain}</span> : null}
                </td>
                <td data-label="Type">{t.taskType}</td>
                <td data-label="Status"><StatusBadge status={t.status} /></td>
                <td data-label="Workflow">
                  <Link to={`/execution/${encodeURIComponent(t.workflowId)}`}>{t.workflowType}</Link>
                </td>
                <td data-label="Scheduled">{fmtTime(t.scheduledTime)}</td>
                <td data-label="Started">{fmtTime(t.startTime)}</td>
                <td data-label="Ended">{fmtTime(t.endTime)}</td>
                <td data-label="Queue wait">{t.startTime ? fmtDuration(t.queueWaitTime) : ""}</td>
                <td data-label="Ran">{t.endTime ? fmtDuration(t.executionTime) : ""}</td>
                <td data-label="Reason" className="reason" title={t.reasonForIncompletion ?? ""}>{t.reasonForIncompletion}</td>
              </tr>
            ))}
            {!search.loading && rows.length === 0 && (
              <tr>
                <td colSpan={COLUMNS.length} className="empty">No tasks match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <Pager start={start} size={size} total={total} onStart={(n) => update({ start: String(n) })}
          onSize={(n) => update({ size: String(n), start: null })} />
      </nav>
    </section>
  );
}
