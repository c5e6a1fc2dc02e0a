import { useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { request, fmtTime, type TaskDef, type Json } from "../api";
import { useApi, ErrorBox, JsonView, KeyValues } from "../components/common";

export function TaskDefsPage() {
  const list = useApi("taskdefs", () => request<TaskDef[]>("GET", "/metadata/taskdefs"));
  const [filter, setFilter] = useState("");
  const rows = useMemo(
    () => (list.data ?? []).filter((t) => t.name.toLowerCase().includes(filter.toLowerCase())).sort((a, b) => a.name.localeCompare(b.name)),
    [list.data, filter],
  );
  return (
    <section className="page" aria-labelledby="td-title">
      <div className="page-head">
        <h1 id="td-title">Task definitions</h1>
        <label className="inline">
          Filter <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
      </div>
      <ErrorBox error={list.error} />
      <div className="table-wrap">
        <table className="grid" aria-label="Task definitions">
          <thead>
            <tr><th>Name</th><th>Description</th><th>Retries</th><th>Timeout</th><th>Response timeout</th><th>Owner</th><th>Updated</th></tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.name}>
                <td><Link to={`/taskdefs/${encodeURIComponent(t.name)}`}>{t.name}</Link></td>
                <td>{t.description}</td>
                <td>{t.retryCount ?? ""} {t.retryLogic ? <span className="muted">{String(t.retryLogic)}</span> : null}</td>
                <td>{t.timeoutSeconds ? `${t.timeoutSeconds} s` : ""}</td>
                <td>{t.responseTimeoutSeconds ? `${t.responseTimeoutSeconds} s` : ""}</td>
                <td>{t.ownerEmail}</td>
                <td>{fmtTime((t.updateTime ?? t.createTime) as number | undefined)}</td>
              </tr>
            ))}
            {!list.loading && rows.length === 0 && <tr><td colSpan={7} className="empty">No task definitions.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function TaskDefPage() {
  const { name = "" } = useParams();
  const td = useApi("td:" + name, () => request<TaskDef>("GET", `/metadata/taskdefs/${encodeURIComponent(name)}`));
  const t = td.data;
  return (
    <section className="page" aria-labelledby="tdv-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/taskdefs">Task definitions</Link> /</p>
          <h1 id="tdv-title">{name}</h1>
        </div>
      </div>
      <ErrorBox error={td.error} />
      {t && (
        <>
          <KeyValues
            items={[
              ["Description", t.description],
              ["Owner", t.ownerEmail],
              ["Retries", `${t.retryCount ?? 0}${t.retryLogic ? ` · ${t.retryLogic}` : ""}${t.retryDelaySeconds !== undefined ? ` · every ${t.retryDelaySeconds} s` : ""}`],
              ["Timeout", t.timeoutSeconds ? `${t.timeoutSeconds} s (${t.timeoutPolicy ?? ""})` : ""],
              ["Response timeout", t.responseTimeoutSeconds ? `${t.responseTimeoutSeconds} s` : ""],
              ["Concurrency limit", t.concurrentExecLimit ? String(t.concurrentExecLimit) : ""],
              ["Rate limit", t.rateLimitPerFrequency ? `${t.rateLimitPerFrequency} per ${t.rateLimitFrequencyInSeconds} s` : ""],
              ["Created", fmtTime(t.createTime as number | undefined)],
            ]}
          />
          <h2>JSON</h2>
          <JsonView value={t as unknown as Json} label="Task definition JSON" />
        </>
      )}
    </section>
  );
}
