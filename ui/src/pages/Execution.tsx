import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams, useNavigate } from "react-router";
import {
  request, qs, fmtTime, fmtDuration, TERMINAL,
  type Workflow, type WorkflowDef, type Task, type TaskLog, type Json,
} from "../api";
import { useApi, StatusBadge, ErrorBox, Tabs, JsonView, KeyValues, parseJsonInput, ConfirmDialog } from "../components/common";
import { buildGraph, nest, under, type GNode, type Graph } from "../graph/build";
import { useWatchedWorkflow, POLL_MS, type UpdateMode } from "../watch";

const Diagram = lazy(() => import("../graph/Diagram"));

type Tab = "diagram" | "tasks" | "timeline" | "io" | "json";
const TABS: { id: Tab; label: string }[] = [
  { id: "diagram", label: "Diagram" },
  { id: "tasks", label: "Task list" },
  { id: "timeline", label: "Timeline" },
  { id: "io", label: "Input / output" },
  { id: "json", label: "JSON" },
];

export function ExecutionPage() {
  const { id = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = (params.get("tab") as Tab) || "diagram";
  const selectedNode = params.get("task") ?? undefined;
  const setParam = useCallback(
    (changes: Record<string, string | null>) =>
      setParams((p) => {
        const n = new URLSearchParams(p);
        for (const [k, v] of Object.entries(changes)) v === null ? n.delete(k) : n.set(k, v);
        return n;
      }, { replace: false }),
    [setParams],
  );

  // Pushed by the server while the page is open (polling only when the stream keeps failing).
  const wf = useWatchedWorkflow(id);
  const w = wf.data;
  const defKey = w ? `def:${w.workflowName}:${w.workflowVersion}` : null;
  const def = useApi(defKey, () =>
    request<WorkflowDef>("GET", `/metadata/workflow/${encodeURIComponent(w!.workflowName)}${qs({ version: w!.workflowVersion })}`),
  );
  const terminal = w ? TERMINAL.has(w.status) : false;

  const { reload } = wf;

  // Loop iterations shown, from the URL: it=loopRef:3,other:1
  const loopIter = useMemo(() => {
    const m: Record<string, number> = {};
    for (const part of (params.get("it") ?? "").split(",")) {
      const [k, v] = part.split(":");
      if (k && v) m[k] = Number(v);
    }
    return m;
  }, [params]);
  const onIter = useCallback(
    (loop: string, n: number) => {
      const m = { ...loopIter, [loop]: n };
      setParam({ it: Object.entries(m).map(([k, v]) => `${k}:${v}`).join(",") });
    },
    [loopIter, setParam],
  );

  const definition = def.data ?? (w?.workflowDefinition as WorkflowDef | undefined);
  // Dynamic forks drawn branch by branch although they have more than MAX_DYNAMIC: open=fork,other
  const openParam = params.get("open") ?? "";
  const opened = useMemo(() => new Set(openParam.split(",").filter(Boolean)), [openParam]);
  const setOpened = useCallback(
    (fork: string, on: boolean) => {
      const n = new Set(opened);
      if (on) n.add(fork);
      else n.delete(fork);
      setParam({ open: n.size ? [...n].join(",") : null, task: null, attempt: null });
    },
    [opened, setParam],
  );
  // SUB_WORKFLOW nodes whose child run is drawn inside them: sub=node,other/node
  const subParam = params.get("sub") ?? "";
  const expanded = useMemo(() => subParam.split(",").filter(Boolean), [subParam]);
  const onExpand = useCallback(
    (node: string, on: boolean) => {
      // Collapsing one also collapses what was expanded inside it.
      const next = on ? [...expanded, node] : expanded.filter((x) => x !== node && !x.startsWith(node + "/"));
      setParam({ sub: next.length ? next.join(",") : null });
    },
    [expanded, setParam],
  );
  const [children, setChildren] = useState<Record<string, Workflow>>({});
  const [childDefs, setChildDefs] = useState<Record<string, WorkflowDef>>({});
  const onChild = useCallback((cw: Workflow) => setChildren((m) => ({ ...m, [cw.workflowId]: cw })), []);
  const graph = useMemo((): Graph | undefined => {
    if (!w) return undefined;
    const iters = Object.fromEntries([...opened].map((k) => [k, true]));
    let g = buildGraph(definition, w, loopIter, opened);
    // Outermost first: a child's own SUB_WORKFLOW can be expanded once the child is drawn.
    for (let grew = true; grew; ) {
      grew = false;
      for (const at of expanded) {
        const host = g.nodes.find((n) => n.id === at && n.kind === "sub" && !n.expanded);
        const cw = host?.subWorkflowId ? children[host.subWorkflowId] : undefined;
        if (!cw) continue;
        const cd = childDefs[`${cw.workflowName}:${cw.workflowVersion}`] ?? (cw.workflowDefinition as WorkflowDef | undefined);
        g = nest(g, at, buildGraph(cd, cw, under(loopIter, at), new Set(Object.keys(under(iters, at)))));
        grew = true;
      }
    }
    return g;
  }, [w, definition, loopIter, opened, expanded, children, childDefs]);
  // The child runs to follow: those of expanded nodes drawn now.
  const watched = useMemo(
    () => (graph?.nodes ?? []).filter((n) => n.kind === "sub" && n.subWorkflowId && expanded.includes(n.id)).map((n) => n.subWorkflowId!),
    [graph, expanded],
  );
  useEffect(() => {
    for (const id of watched) {
      const cw = children[id];
      if (!cw) continue;
      const key = `${cw.workflowName}:${cw.workflowVersion}`;
      if (childDefs[key]) continue;
      request<WorkflowDef>("GET", `/metadata/workflow/${encodeURIComponent(cw.workflowName)}${qs({ version: cw.workflowVersion })}`)
        .then((d) => setChildDefs((m) => ({ ...m, [key]: d })))
        .catch(() => undefined); // drawn from the run's own copy of its definition meanwhile
    }
  }, [watched, children, childDefs]);
  // A branch inside a closed group is not drawn but can still be shown in the panel.
  const hidden = useMemo(() => graph?.nodes.flatMap((n) => n.branches ?? []) ?? [], [graph]);
  const selected = graph?.nodes.find((n) => n.id === selectedNode) ?? hidden.find((n) => n.id === selectedNode);
  const onSelect = useCallback((n: GNode) => setParam({ task: n.id, attempt: null }), [setParam]);
  // The run a node's task belongs to: this one, or the child run of the node it is drawn in.
  const runOf = (n: GNode): Workflow | undefined => {
    if (!n.owner) return w;
    const host = graph?.nodes.find((x) => x.id === n.owner);
    return host?.subWorkflowId ? children[host.subWorkflowId] : undefined;
  };
  const nodeOfRef = (ref: string) => (graph?.nodes.find((n) => n.ref === ref) ?? hidden.find((n) => n.ref === ref))?.id ?? ref;

  if (wf.error && !w) {
    return (
      <section className="page">
        <h1>Execution</h1>
        <ErrorBox error={wf.error} />
        <Link to="/executions">Back to executions</Link>
      </section>
    );
  }
  if (!w) return <section className="page"><p className="muted">Loading…</p></section>;
  const removed = wf.mode === "removed";

  return (
    <section className="page execution" aria-labelledby="wf-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/executions">Executions</Link> /</p>
          <h1 id="wf-title">
            {w.workflowName} <span className="muted">v{w.workflowVersion}</span> <StatusBadge status={w.status} />
          </h1>
          <p className="mono small">{w.workflowId}</p>
        </div>
        {!removed && <WorkflowActions w={w} onDone={reload} />}
      </div>
      <KeyValues
        items={[
          ["Started", fmtTime(w.startTime ?? w.createTime)],
          ["Ended", fmtTime(w.endTime)],
          ["Duration", w.endTime ? fmtDuration((w.endTime ?? 0) - (w.startTime ?? w.createTime ?? 0)) : ""],
          ["Correlation id", w.correlationId],
          ["Definition", <Link to={`/definitions/${encodeURIComponent(w.workflowName)}/${w.workflowVersion}`}>{w.workflowName} v{w.workflowVersion}</Link>],
          ["Parent run", w.parentWorkflowId ? <Link className="mono" to={`/execution/${w.parentWorkflowId}`}>{w.parentWorkflowId}</Link> : ""],
          ["Reason", w.reasonForIncompletion],
          ["Updates", <Updates mode={wf.mode} terminal={terminal} />],
        ]}
      />
      {removed ? (
        <div className="error" role="alert">This execution was deleted. What is shown is its last state.</div>
      ) : (
        <ErrorBox error={wf.error} />
      )}
      <Tabs label="Execution views" tabs={TABS} current={tab} onSelect={(t) => setParam({ tab: t === "diagram" ? null : t })} />
      <div className={`exec-body ${selected && tab !== "io" && tab !== "json" ? "with-panel" : ""}`}>
        <div className="exec-main" role="tabpanel">
          {tab === "diagram" && opened.size > 0 && (
            <div className="opened-bar" role="status">
              {[...opened].map((f) => (
                <span key={f}>
                  Every branch of <strong>{f}</strong> is drawn.{" "}
                  <button className="btn small" onClick={() => setOpened(f, false)}>Group them again</button>
                </span>
              ))}
            </div>
          )}
          {tab === "diagram" && graph && (
            <Suspense fallback={<div className="diagram">Loading diagram…</div>}>
              <Diagram graph={graph} selected={selectedNode} onSelect={onSelect} onIter={onIter} onExpand={onExpand} label={`Diagram of run ${w.workflowId}`} />
            </Suspense>
          )}
          {tab === "tasks" && <TaskList w={w} onSelect={(ref) => setParam({ task: nodeOfRef(ref), attempt: null })} selectedRef={selected?.ref} />}
          {tab === "timeline" && <Timeline w={w} onSelect={(ref) => setParam({ task: nodeOfRef(ref), attempt: null })} />}
          {tab === "io" && (
            <div className="io">
              <div><h2>Input</h2><JsonView value={w.input ?? {}} label="Workflow input" /></div>
              <div><h2>Output</h2><JsonView value={w.output ?? {}} label="Workflow output" /></div>
              {w.variables && Object.keys(w.variables as object).length > 0 ? (
                <div><h2>Variables</h2><JsonView value={w.variables as Json} label="Workflow variables" /></div>
              ) : null}
            </div>
          )}
          {tab === "json" && <JsonView value={w as unknown as Json} label="Execution JSON" />}
        </div>
        {selected && selected.kind === "group" && tab !== "io" && tab !== "json" && (
          <GroupPanel
            key={selected.id}
            node={selected}
            onPick={(id) => setParam({ task: id, attempt: null })}
            onOpen={() => setOpened(selected.forkId ?? "", true)}
            onClose={() => setParam({ task: null, attempt: null })}
          />
        )}
        {watched.map((id) => (
          <ChildWatcher key={id} id={id} onData={onChild} />
        ))}
        {selected && selected.kind !== "group" && tab !== "io" && tab !== "json" && runOf(selected) && (
          <TaskPanel
            key={selected.id}
            node={selected}
            w={runOf(selected)!}
            attemptIdx={params.get("attempt")}
            onAttempt={(i) => setParam({ attempt: String(i) })}
            onClose={() => setParam({ task: null, attempt: null })}
            onDone={reload}
          />
        )}
      </div>
    </section>
  );
}

/** Follows a child run drawn inside its parent's diagram (pushed by the server, like the page's own run). */
function ChildWatcher({ id, onData }: { id: string; onData: (w: Workflow) => void }) {
  const { data } = useWatchedWorkflow(id);
  useEffect(() => {
    if (data) onData(data);
  }, [data, onData]);
  return null;
}

const GROUP_PAGE = 50;

/** The branches a group stands for: counts by status, a filter, pages of them; a click
 * shows one in the task panel; or draw them all in the diagram. */
function GroupPanel({ node, onPick, onOpen, onClose }: {
  node: GNode;
  onPick: (id: string) => void;
  onOpen: () => void;
  onClose: () => void;
}) {
  const [status, setStatus] = useState<string>();
  const [text, setText] = useState("");
  const [page, setPage] = useState(0);
  const all = node.branches ?? [];
  const q = text.trim().toLowerCase();
  const shown = all.filter((b) => (!status || (b.status ?? "NOT_STARTED") === status) && (!q || b.label.toLowerCase().includes(q)));
  const pages = Math.max(1, Math.ceil(shown.length / GROUP_PAGE));
  const at = Math.min(page, pages - 1);
  const counts = Object.entries(node.counts ?? {}).sort((a, b) => b[1] - a[1]);
  return (
    <aside className="task-panel" aria-label={`Group ${node.label}`}>
      <div className="panel-head">
        <h2>{node.label} {node.status && <StatusBadge status={node.status} />}</h2>
        <button className="btn small" onClick={onClose} aria-label="Close group panel">✕</button>
      </div>
      <div className="panel-body stack">
        <p className="muted small">Branches spawned by the dynamic fork {node.forkId}, grouped because they are many.</p>
        <div className="row" role="group" aria-label="Branches by status">
          <button className={`chip ${!status ? "on" : ""}`} aria-pressed={!status} onClick={() => { setStatus(undefined); setPage(0); }}>
            all {all.length.toLocaleString("en-US")}
          </button>
          {counts.map(([st, n]) => (
            <button key={st} className={`chip ${status === st ? "on" : ""}`} aria-pressed={status === st} onClick={() => { setStatus(st); setPage(0); }}>
              {st.replace(/_/g, " ").toLowerCase()} {n.toLocaleString("en-US")}
            </button>
          ))}
        </div>
        <label className="inline">
          Find <input type="search" value={text} onChange={(e) => { setText(e.target.value); setPage(0); }} placeholder="reference name" />
        </label>
        <table className="grid compact" aria-label="Branches">
          <thead><tr><th>Branch</th><th>Status</th></tr></thead>
          <tbody>
            {shown.slice(at * GROUP_PAGE, (at + 1) * GROUP_PAGE).map((b) => (
              <tr key={b.id}>
                <td><button className="linklike" onClick={() => onPick(b.id)}>{b.label}</button></td>
                <td>{b.status ? <StatusBadge status={b.status} /> : <span className="muted">not started</span>}</td>
              </tr>
            ))}
            {shown.length === 0 && <tr><td colSpan={2} className="empty">No branch matches.</td></tr>}
          </tbody>
        </table>
        <nav className="pager" aria-label="Branch pages">
          <button className="btn small" disabled={at === 0} onClick={() => setPage(at - 1)}>‹</button>
          <span data-testid="branch-page">{shown.length ? `${at * GROUP_PAGE + 1}–${Math.min((at + 1) * GROUP_PAGE, shown.length)} of ${shown.length}` : "0"}</span>
          <button className="btn small" disabled={at >= pages - 1} onClick={() => setPage(at + 1)}>›</button>
        </nav>
        <button className="btn" onClick={onOpen}>Draw all {all.length.toLocaleString("en-US")} branches in the diagram</button>
      </div>
    </aside>
  );
}

function Updates({ mode, terminal }: { mode: UpdateMode; terminal: boolean }) {
  const text: Record<UpdateMode, string> = {
    connecting: "connecting…",
    live: terminal ? "live · watching for a retry or restart" : "live · pushed by the server",
    polling: `polling every ${POLL_MS / 1000} s (live updates unavailable)`,
    removed: "none · deleted",
  };
  return (
    <span className={mode === "live" ? "live" : mode === "polling" ? "warn" : "muted"} role="status" aria-label="Updates" data-mode={mode}>
      {text[mode]}
    </span>
  );
}

function TaskList({ w, onSelect, selectedRef }: { w: Workflow; onSelect: (ref: string) => void; selectedRef?: string }) {
  const tasks = [...(w.tasks ?? [])].sort((a, b) => a.seq - b.seq);
  return (
    <div className="table-wrap">
      <table className="grid" aria-label="Tasks of this run">
        <thead>
          <tr><th>#</th><th>Reference</th><th>Type</th><th>Status</th><th>Scheduled</th><th>Started</th><th>Ended</th><th>Duration</th><th>Worker</th></tr>
        </thead>
        <tbody>
          {tasks.map((t) => (
            <tr key={t.taskId} className={selectedRef === t.referenceTaskName ? "selected" : ""}>
              <td>{t.seq}</td>
              <td><button className="linklike" onClick={() => onSelect(t.referenceTaskName)}>{t.referenceTaskName}</button></td>
              <td>{t.taskType}</td>
              <td><StatusBadge status={t.status} /></td>
              <td>{fmtTime(t.scheduledTime)}</td>
              <td>{fmtTime(t.startTime)}</td>
              <td>{fmtTime(t.endTime)}</td>
              <td>{t.endTime && t.startTime ? fmtDuration(t.endTime - t.startTime) : ""}</td>
              <td className="mono">{t.workerId}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Each task as a bar from its scheduling to its end, on the run's time scale. */
function Timeline({ w, onSelect }: { w: Workflow; onSelect: (ref: string) => void }) {
  const tasks = [...(w.tasks ?? [])].filter((t) => t.scheduledTime).sort((a, b) => a.seq - b.seq);
  const t0 = w.startTime ?? w.createTime ?? tasks[0]?.scheduledTime ?? 0;
  const now = Date.now();
  const endOf = (t: Task) => t.endTime || (TERMINAL.has(w.status) ? t.updateTime || t.startTime || t.scheduledTime! : now);
  const t1 = Math.max(w.endTime || 0, ...tasks.map(endOf), t0 + 1);
  const span = t1 - t0;
  const pct = (v: number) => `${(((v - t0) / span) * 100).toFixed(3)}%`;
  return (
    <div className="timeline" role="list" aria-label="Timeline of tasks">
      <div className="tl-scale" aria-hidden="true"><span>0</span><span>{fmtDuration(span)}</span></div>
      {tasks.map((t) => {
        const start = t.startTime || t.scheduledTime!;
        const end = Math.max(endOf(t), start);
        return (
          <div className="tl-row" role="listitem" key={t.taskId}>
            <button className="linklike tl-label" onClick={() => onSelect(t.referenceTaskName)}>{t.referenceTaskName}</button>
            <div className="tl-track">
              {t.startTime && t.scheduledTime && t.startTime > t.scheduledTime ? (
                <span className="tl-wait" style={{ left: pct(t.scheduledTime), width: `calc(${pct(t.startTime)} - ${pct(t.scheduledTime)})` }} title="waiting in the queue" />
              ) : null}
              <span
                className={`tl-bar st-${t.status}`}
                style={{ left: pct(start), width: `max(3px, calc(${pct(end)} - ${pct(start)}))` }}
                title={`${t.referenceTaskName}: ${t.status}, ${fmtDuration(end - start)}`}
              />
            </div>
            <span className="tl-dur">{fmtDuration(end - start)}</span>
          </div>
        );
      })}
    </div>
  );
}

type PanelTab = "summary" | "input" | "output" | "logs" | "attempts" | "json" | "actions" | "definition";

function TaskPanel({ node, w, attemptIdx, onAttempt, onClose, onDone }: {
  node: GNode;
  w: Workflow;
  attemptIdx: string | null;
  onAttempt: (i: number) => void;
  onClose: () => void;
  onDone: () => void;
}) {
  const attempts = node.attempts ?? [];
  const idx = attemptIdx === null ? attempts.length - 1 : Math.min(Number(attemptIdx), attempts.length - 1);
  const t: Task | undefined = attempts[idx];
  const [tab, setTab] = useState<PanelTab>("summary");
  // On a narrow screen the panel sits below the diagram: bring it into view when it opens.
  const self = useRef<HTMLElement>(null);
  useEffect(() => {
    if (window.matchMedia("(max-width: 900px)").matches) self.current?.scrollIntoView({ block: "start" });
  }, []);
  const logs = useApi(tab === "logs" && t ? "log:" + t.taskId + ":" + t.updateTime : null, () => request<TaskLog[] | null>("GET", `/tasks/${t!.taskId}/log`));
  const tabs: { id: PanelTab; label: string }[] = [
    { id: "summary", label: "Summary" },
    { id: "input", label: "Input" },
    { id: "output", label: "Output" },
    { id: "logs", label: "Logs" },
    { id: "attempts", label: `Attempts (${attempts.length})` },
    { id: "definition", label: "Definition" },
    { id: "json", label: "JSON" },
    { id: "actions", label: "Actions" },
  ];
  return (
    <aside className="task-panel" aria-label={`Task ${node.label}`} ref={self}>
      <div className="panel-head">
        <h2>
          {node.label} {t && <StatusBadge status={t.status} />}
        </h2>
        <button className="btn small" onClick={onClose} aria-label="Close task panel">✕</button>
      </div>
      {!t ? (
        <p className="muted">
          {node.type} · {node.notReached ? "not reached in this run" : "has not run (yet)"}.
        </p>
      ) : (
        <>
          <Tabs label="Task views" tabs={tabs} current={tab} onSelect={setTab} />
          <div className="panel-body" role="tabpanel">
            {tab === "summary" && (
              <KeyValues
                items={[
                  ["Type", t.taskType],
                  ["Task id", <span className="mono">{t.taskId}</span>],
                  ["Reference", t.referenceTaskName],
                  ["Definition", t.taskDefName],
                  ["Attempt", `${idx + 1} of ${attempts.length} (retry count ${t.retryCount})`],
                  ["Iteration", t.iteration ? String(t.iteration) : ""],
                  ["Scheduled", fmtTime(t.scheduledTime)],
                  ["Started", fmtTime(t.startTime)],
                  ["Ended", fmtTime(t.endTime)],
                  ["Queue wait", t.startTime ? fmtDuration(t.queueWaitTime ?? (t.startTime ?? 0) - (t.scheduledTime ?? 0)) : ""],
                  ["Duration", t.endTime && t.startTime ? fmtDuration(t.endTime - t.startTime) : ""],
                  ["Worker", t.workerId],
                  ["Poll count", String(t.pollCount ?? 0)],
                  ["Reason", t.reasonForIncompletion],
                  ["Child run", t.subWorkflowId ? <Link className="mono" to={`/execution/${t.subWorkflowId}`}>{t.subWorkflowId}</Link> : ""],
                ]}
              />
            )}
            {tab === "input" && <JsonView value={t.inputData ?? {}} label="Task input" />}
            {tab === "output" && <JsonView value={t.outputData ?? {}} label="Task output" />}
            {tab === "logs" && (
              <div>
                <ErrorBox error={logs.error} />
                {logs.loading && <p className="muted">Loading…</p>}
                {!logs.loading && !logs.data?.length && <p className="muted">No logs.</p>}
                <ol className="logs">
                  {(logs.data ?? []).map((l, i) => (
                    <li key={i}><time>{fmtTime(l.createdTime)}</time> <span>{l.log}</span></li>
                  ))}
                </ol>
              </div>
            )}
            {tab === "attempts" && (
              <table className="grid compact" aria-label="Attempts">
                <thead><tr><th>#</th><th>Status</th><th>Started</th><th>Ended</th><th>Worker</th></tr></thead>
                <tbody>
                  {attempts.map((a, i) => (
                    <tr key={a.taskId} className={i === idx ? "selected" : ""}>
                      <td><button className="linklike" onClick={() => onAttempt(i)}>{i + 1}</button></td>
                      <td><StatusBadge status={a.status} /></td>
                      <td>{fmtTime(a.startTime)}</td>
                      <td>{fmtTime(a.endTime)}</td>
                      <td className="mono">{a.workerId}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {tab === "definition" && (
              <div className="stack">
                <p className="muted small">
                  The task as the run&apos;s definition ({w.workflowName} v{w.workflowVersion}) wrote it.
                  {t.taskType === "SIMPLE" || t.workflowTask?.type === "SIMPLE" || !t.workflowTask?.type ? (
                    <>
                      {" "}Retries, timeouts and limits come from the task definition{" "}
                      <Link to={`/taskdefs/${encodeURIComponent(t.taskDefName ?? "")}`}>{t.taskDefName}</Link>.
                    </>
                  ) : null}
                </p>
                {t.workflowTask ? (
                  <JsonView value={t.workflowTask as unknown as Json} label="Task definition in the run" />
                ) : (
                  <p className="muted">The run&apos;s definition is not at hand.</p>
                )}
              </div>
            )}
            {tab === "json" && <JsonView value={t as unknown as Json} label="Task JSON" />}
            {tab === "actions" && <TaskActions w={w} t={t} onDone={onDone} />}
          </div>
        </>
      )}
    </aside>
  );
}

function TaskActions({ w, t, onDone }: { w: Workflow; t: Task; onDone: () => void }) {
  const navigate = useNavigate();
  const [output, setOutput] = useState("{\n  \n}");
  const [input, setInput] = useState(JSON.stringify(t.inputData ?? {}, null, 2));
  const [msg, setMsg] = useState<string>();
  const [error, setError] = useState<string>();
  const [confirm, setConfirm] = useState<null | { title: string; run: () => Promise<void> }>(null);
  const waiting = (t.taskType === "WAIT" || t.taskType === "HUMAN") && (t.status === "IN_PROGRESS" || t.status === "SCHEDULED");
  const open = !TERMINAL.has(w.status);
  const ask = (title: string, run: () => Promise<void>) => {
    setError(undefined);
    setConfirm({ title, run });
  };
  const setStatus = (status: "COMPLETED" | "FAILED") => {
    const p = parseJsonInput(output);
    if (p.error) return setError("Output: " + p.error);
    ask(`Mark ${t.referenceTaskName} ${status}?`, async () => {
      await request("POST", `/tasks/${w.workflowId}/${encodeURIComponent(t.referenceTaskName)}/${status}${qs({ workerid: "baton-ui" })}`, p.value);
      setMsg(`${t.referenceTaskName} marked ${status}.`);
      onDone();
    });
  };
  const rerun = () => {
    const p = parseJsonInput(input);
    if (p.error) return setError("Input: " + p.error);
    ask(`Rerun ${w.workflowId} from ${t.referenceTaskName}?`, async () => {
      const id = await request<string>("POST", `/workflow/${w.workflowId}/rerun`, { reRunFromWorkflowId: w.workflowId, reRunFromTaskId: t.taskId, taskInput: p.value });
      setMsg("Rerun started.");
      onDone();
      if (id && id !== w.workflowId) navigate(`/execution/${id}`);
    });
  };
  const skip = () =>
    ask(`Skip ${t.referenceTaskName}?`, async () => {
      await request("PUT", `/workflow/${w.workflowId}/skiptask/${encodeURIComponent(t.referenceTaskName)}`);
      setMsg(`${t.referenceTaskName} skipped.`);
      onDone();
    });
  return (
    <div className="stack">
      {msg && <p className="ok" role="status">{msg}</p>}
      <ErrorBox error={error} />
      {waiting && open && (
        <fieldset>
          <legend>Complete or fail this {t.taskType} task</legend>
          <JsonView value={output} editable onChange={setOutput} label="Output to set" minHeight="6em" />
          <div className="row">
            <button className="btn primary" onClick={() => setStatus("COMPLETED")}>Complete</button>
            <button className="btn danger" onClick={() => setStatus("FAILED")}>Fail</button>
          </div>
        </fieldset>
      )}
      <fieldset>
        <legend>Rerun the run from this task</legend>
        <JsonView value={input} editable onChange={setInput} label="New task input" minHeight="6em" />
        <button className="btn" onClick={rerun}>Rerun from here</button>
      </fieldset>
      {open && !TERMINAL.has(t.status) && t.status !== "SKIPPED" && (
        <fieldset>
          <legend>Skip</legend>
          <button className="btn" onClick={skip}>Skip this task</button>
        </fieldset>
      )}
      {confirm && <ConfirmDialog title={confirm.title} run={confirm.run} onClose={() => setConfirm(null)} />}
    </div>
  );
}

type WfAction = "pause" | "resume" | "terminate" | "restart" | "retry";

function WorkflowActions({ w, onDone }: { w: Workflow; onDone: () => void }) {
  const [action, setAction] = useState<WfAction | null>(null);
  const [reason, setReason] = useState("");
  const [opt, setOpt] = useState(false);
  const [msg, setMsg] = useState<string>();
  const s = w.status;
  const terminal = TERMINAL.has(s);
  const available: [WfAction, string, boolean][] = [
    ["pause", "Pause", s === "RUNNING"],
    ["resume", "Resume", s === "PAUSED"],
    ["terminate", "Terminate", !terminal],
    ["restart", "Restart", terminal],
    ["retry", "Retry", s === "FAILED" || s === "TIMED_OUT" || s === "TERMINATED"],
  ];
  const id = w.workflowId;
  const run = async () => {
    switch (action) {
      case "pause": await request("PUT", `/workflow/${id}/pause`); break;
      case "resume": await request("PUT", `/workflow/${id}/resume`); break;
      case "terminate": await request("DELETE", `/workflow/${id}${qs({ reason })}`); break;
      case "restart": await request("POST", `/workflow/${id}/restart${qs({ useLatestDefinitions: opt })}`); break;
      case "retry": await request("POST", `/workflow/${id}/retry${qs({ resumeSubworkflowTasks: opt })}`); break;
    }
    setMsg(`${action} done`);
    onDone();
  };
  return (
    <div className="wf-actions" role="toolbar" aria-label="Execution actions">
      {available.filter(([, , ok]) => ok).map(([a, label]) => (
        <button key={a} className={`btn ${a === "terminate" ? "danger" : ""}`} onClick={() => { setOpt(false); setReason(""); setMsg(undefined); setAction(a); }}>
          {label}
        </button>
      ))}
      {msg && <span className="ok small" role="status">{msg}</span>}
      {action && (
        <ConfirmDialog
          title={`${action[0].toUpperCase() + action.slice(1)} this execution?`}
          run={run}
          onClose={() => setAction(null)}
          danger={action === "terminate"}
          label={action[0].toUpperCase() + action.slice(1)}
        >
          <p className="mono small">{id}</p>
          {action === "terminate" && (
            <label>Reason<input autoFocus value={reason} onChange={(e) => setReason(e.target.value)} /></label>
          )}
          {action === "restart" && (
            <label className="check"><input type="checkbox" checked={opt} onChange={(e) => setOpt(e.target.checked)} /> Use the latest definition</label>
          )}
          {action === "retry" && (
            <label className="check"><input type="checkbox" checked={opt} onChange={(e) => setOpt(e.target.checked)} /> Resume sub-workflow tasks</label>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
