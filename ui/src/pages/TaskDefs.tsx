import { useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { request, requestText, fmtTime, type TaskDef, type Json } from "../api";
import { DefEditor, NEW_TASK } from "../components/DefEditor";
import { reindent } from "../jsonText";
import { useApi, ErrorBox, JsonView, KeyValues, Tabs } from "../components/common";

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
        <div className="row">
          <label className="inline">
            Filter <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </label>
          <Link className="btn primary" to="/taskdefs/new">New task definition</Link>
        </div>
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
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const tab = params.get("tab") === "edit" ? "edit" : "details";
  const [saved, setSaved] = useState(0);
  const td = useApi(`td:${name}:${saved}`, () => request<TaskDef>("GET", `/metadata/taskdefs/${encodeURIComponent(name)}`));
  const t = td.data;
  const raw = useApi(tab === "edit" ? `tdraw:${name}:${saved}` : null, () => requestText(`/metadata/taskdefs/${encodeURIComponent(name)}`));
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
        <Tabs label="Task definition views" tabs={[{ id: "details", label: "Details" }, { id: "edit", label: "Edit" }]} current={tab}
          onSelect={(x) => setParams(x === "details" ? {} : { tab: x })} />
      )}
      {t && tab === "edit" && <ErrorBox error={raw.error} />}
      {t && tab === "edit" && raw.data !== undefined && (
        <DefEditor key={raw.data} kind="task" draftKey={`baton.editor.draft:task:${name}`} initial={reindent(raw.data)} onSaved={(n) => {
          if (n === name) {
            setSaved((x) => x + 1);
            setParams({});
          } else navigate(`/taskdefs/${encodeURIComponent(n)}`);
        }} />
      )}
      {t && tab === "details" && (
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

export function NewTaskDefPage() {
  const navigate = useNavigate();
  return (
    <section className="page" aria-labelledby="newtd-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/taskdefs">Task definitions</Link> /</p>
          <h1 id="newtd-title">New task definition</h1>
        </div>
      </div>
      <DefEditor kind="task" create draftKey="baton.editor.draft:task:new" initial={NEW_TASK} onSaved={(n) => navigate(`/taskdefs/${encodeURIComponent(n)}`)} />
    </section>
  );
}
