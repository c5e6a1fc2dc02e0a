import { lazy, Suspense, useCallback, useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { request, requestText, qs, fmtTime, type WorkflowDef, type Json } from "../api";
import { DefEditor, NEW_WORKFLOW } from "../components/DefEditor";
import { reindent } from "../jsonText";
import { useApi, ErrorBox, Tabs, JsonView, KeyValues } from "../components/common";
import { buildGraph, type GNode } from "../graph/build";
import { TextDiff } from "../components/TextDiff";

const Diagram = lazy(() => import("../graph/Diagram"));

interface NameVersion {
  name: string;
  version: number;
  createTime?: number;
}

export function DefinitionsPage() {
  const list = useApi("defs", () => request<WorkflowDef[]>("GET", "/metadata/workflow"));
  const [filter, setFilter] = useState("");
  const grouped = useMemo(() => {
    const m = new Map<string, WorkflowDef[]>();
    for (const d of list.data ?? []) m.set(d.name, [...(m.get(d.name) ?? []), d]);
    return [...m.entries()]
      .filter(([n]) => n.toLowerCase().includes(filter.toLowerCase()))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, defs]) => ({ name, defs: defs.sort((a, b) => b.version - a.version) }));
  }, [list.data, filter]);
  return (
    <section className="page" aria-labelledby="defs-title">
      <div className="page-head">
        <h1 id="defs-title">Workflow definitions</h1>
        <div className="row">
          <label className="inline">
            Filter <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </label>
          <Link className="btn" to="/designer/new">New (designer)</Link>
          <Link className="btn primary" to="/definitions/new">New definition</Link>
        </div>
      </div>
      <ErrorBox error={list.error} />
      <div className="table-wrap">
        <table className="grid" aria-label="Workflow definitions">
          <thead>
            <tr><th>Name</th><th>Latest</th><th>Versions</th><th>Tasks</th><th>Description</th><th>Owner</th><th>Updated</th><th>Runs</th></tr>
          </thead>
          <tbody>
            {grouped.map(({ name, defs }) => {
              const latest = defs[0];
              return (
                <tr key={name}>
                  <td><Link to={`/definitions/${encodeURIComponent(name)}/${latest.version}`}>{name}</Link></td>
                  <td>v{latest.version}</td>
                  <td>
                    {defs.map((d) => (
                      <Link key={d.version} className="version" to={`/definitions/${encodeURIComponent(name)}/${d.version}`}>
                        v{d.version}
                      </Link>
                    ))}
                  </td>
                  <td>{latest.tasks?.length ?? 0}</td>
                  <td>{latest.description}</td>
                  <td>{latest.ownerEmail}</td>
                  <td>{fmtTime(latest.updateTime ?? latest.createTime)}</td>
                  <td><Link to={`/executions?names=${encodeURIComponent(name)}`}>executions</Link></td>
                </tr>
              );
            })}
            {!list.loading && grouped.length === 0 && <tr><td colSpan={8} className="empty">No definitions.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function DefinitionPage() {
  const { name = "", version } = useParams();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const tab = (params.get("tab") as "diagram" | "json" | "edit" | "compare") || "diagram";
  const def = useApi(`def:${name}:${version ?? ""}`, () =>
    request<WorkflowDef>("GET", `/metadata/workflow/${encodeURIComponent(name)}${qs({ version })}`),
  );
  const versions = useApi(`nv:${name}:${version ?? ""}`, () => request<Record<string, NameVersion[]>>("GET", "/metadata/workflow/names-and-versions"));
  const d = def.data;
  const graph = useMemo(() => (d ? buildGraph(d, undefined, {}) : undefined), [d]);
  const [sel, setSel] = useState<GNode>();
  const onSelect = useCallback((n: GNode) => setSel(n), []);
  const onIter = useCallback(() => {}, []);
  const vs = (versions.data?.[name] ?? []).map((v) => v.version).sort((a, b) => b - a);
  const selTask = sel && d ? findTask(d.tasks, sel.label) : undefined;
  // The definition as the server wrote it, for the editor (so unknown fields stay as they are).
  const raw = useApi(tab === "edit" && d ? `raw:${name}:${d.version}:${d.updateTime ?? ""}` : null, () =>
    requestText(`/metadata/workflow/${encodeURIComponent(name)}${qs({ version: d!.version })}`),
  );
  return (
    <section className="page" aria-labelledby="def-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/definitions">Definitions</Link> /</p>
          <h1 id="def-title">{name} {d && <span className="muted">v{d.version}</span>}</h1>
        </div>
        <div className="row">
          <label className="inline">
            Version{" "}
            <select value={d?.version ?? version ?? ""} onChange={(e) => navigate(`/definitions/${encodeURIComponent(name)}/${e.target.value}`)}>
              {vs.map((v) => <option key={v} value={v}>v{v}</option>)}
            </select>
          </label>
          {d && <Link className="btn" to={`/designer/${encodeURIComponent(name)}/${d.version}`}>Design</Link>}
          <Link className="btn" to={`/executions?names=${encodeURIComponent(name)}`}>Executions</Link>
        </div>
      </div>
      <ErrorBox error={def.error} />
      {d && (
        <>
          <KeyValues
            items={[
              ["Description", d.description],
              ["Owner", d.ownerEmail],
              ["Tasks", String(d.tasks?.length ?? 0)],
              ["Timeout", d.timeoutSeconds ? `${d.timeoutSeconds} s` : ""],
              ["Created", fmtTime(d.createTime)],
              ["Updated", fmtTime(d.updateTime)],
            ]}
          />
          <Tabs label="Definition views" tabs={[{ id: "diagram", label: "Diagram" }, { id: "json", label: "JSON" }, { id: "edit", label: "Edit" }, { id: "compare", label: "Compare" }]} current={tab}
            onSelect={(t) => setParams(t === "diagram" ? {} : { tab: t })} />
          <div className={`exec-body ${tab === "diagram" && selTask ? "with-panel" : ""}`}>
            <div className="exec-main" role="tabpanel">
              {tab === "diagram" && graph && (
                <Suspense fallback={<div className="diagram">Loading diagram…</div>}>
                  <Diagram graph={graph} selected={sel?.id} onSelect={onSelect} onIter={onIter} label={`Diagram of ${name} v${d.version}`} />
                </Suspense>
              )}
              {tab === "json" && <JsonView value={d as unknown as Json} label="Definition JSON" />}
              {tab === "compare" && <CompareVersions name={name} version={d.version} versions={vs} />}
              {tab === "edit" && <ErrorBox error={raw.error} />}
              {tab === "edit" && raw.data !== undefined && (
                <DefEditor
                  key={raw.data}
                  kind="workflow"
                  draftKey={`baton.editor.draft:workflow:${name}:${version ?? ""}`}
                  initial={reindent(raw.data)}
                  versions={vs}
                  onSaved={(n, v) => {
                    navigate(`/definitions/${encodeURIComponent(n)}/${v ?? ""}`);
                    def.reload();
                    versions.reload();
                  }}
                />
              )}
            </div>
            {tab === "diagram" && selTask && (
              <aside className="task-panel" aria-label={`Task ${selTask.taskReferenceName}`}>
                <div className="panel-head">
                  <h2>{selTask.taskReferenceName}</h2>
                  <button className="btn small" onClick={() => setSel(undefined)} aria-label="Close task panel">✕</button>
                </div>
                <JsonView value={selTask as unknown as Json} label="Task definition in the workflow" />
              </aside>
            )}
          </div>
        </>
      )}
    </section>
  );
}

type WT = WorkflowDef["tasks"][number];
function findTask(list: WT[], ref: string): WT | undefined {
  for (const t of list) {
    if (t.taskReferenceName === ref) return t;
    const inner = [
      ...(t.loopOver ?? []),
      ...(t.forkTasks ?? []).flat(),
      ...Object.values(t.decisionCases ?? {}).flat(),
      ...(t.defaultCase ?? []),
    ];
    const f = findTask(inner, ref);
    if (f) return f;
  }
  return undefined;
}

/** This version's JSON against another version's, as a line diff. */
function CompareVersions({ name, version, versions }: { name: string; version: number; versions: number[] }) {
  const others = versions.filter((v) => v !== version);
  // Until one is chosen: the version before this one (the list of versions may come later).
  const [chosen, setOther] = useState<number>();
  const other = chosen !== undefined && others.includes(chosen) ? chosen : (others.find((v) => v < version) ?? others[0]);
  const load = (v: number) => requestText(`/metadata/workflow/${encodeURIComponent(name)}${qs({ version: v })}`).then((t) => JSON.stringify(JSON.parse(t), null, 2));
  const both = useApi(other !== undefined ? `cmp:${name}:${other}:${version}` : null, () => Promise.all([load(other!), load(version)]));
  if (!others.length) return <p>There is no other version to compare with.</p>;
  return (
    <div className="stack">
      <label className="inline">
        Compare v{version} with{" "}
        <select value={other ?? ""} onChange={(e) => setOther(Number(e.target.value))} aria-label="Version to compare with">
          {others.map((v) => <option key={v} value={v}>v{v}</option>)}
        </select>
      </label>
      <ErrorBox error={both.error} />
      {both.data && <TextDiff before={both.data[0]} after={both.data[1]} label={`Changes from v${other} to v${version}`} />}
    </div>
  );
}

export function NewDefinitionPage() {
  const navigate = useNavigate();
  return (
    <section className="page" aria-labelledby="newdef-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/definitions">Definitions</Link> /</p>
          <h1 id="newdef-title">New workflow definition</h1>
        </div>
      </div>
      <DefEditor kind="workflow" create draftKey="baton.editor.draft:workflow:new" initial={NEW_WORKFLOW} onSaved={(n, v) => navigate(`/definitions/${encodeURIComponent(n)}/${v ?? ""}`)} />
    </section>
  );
}
