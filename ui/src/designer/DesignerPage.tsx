// The visual workflow designer: /designer/new and /designer/:name/:version. The definition's
// JSON object is the document; the canvas, the forms and the JSON text all edit it.
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import type { CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { TextDiff } from "../components/TextDiff";
import { ApiError, problems as problemsOf, request, requestText, qs, type Workflow, type WorkflowDef } from "../api";
import { buildGraph } from "../graph/build";
import { useApi, ErrorBox, Tabs, Modal, ConfirmDialog, StatusBadge } from "../components/common";
import {
  EMPTY_WORKFLOW, TASK_TYPES, addForkBranch, allRefs, addSwitchCase, deleteTask, designGraph, findRef, getAt, insertTasks, isObj, moveTask,
  newTasks, refOf, refsBefore, removeForkBranch, removeSwitchCase, renameSwitchCase, replaceTask, taskId, taskPathOf, typeOf,
  walkTasks, lossyNumbers, type Doc, type DNode, type JsonValue, type Path, type Point, type Task,
} from "./model";
import type { CanvasActions } from "./Canvas";
import { startPaletteDrag } from "./drag";
import { JsonField, TaskForm, WorkflowForm } from "./Forms";
import { readDraft, keepDraft } from "../drafts";

const Canvas = lazy(() => import("./Canvas"));
const Diagram = lazy(() => import("../graph/Diagram"));
const noop = () => {};
const JsonEditor = lazy(() => import("../components/JsonEditor"));

const S = (v: unknown) => JSON.stringify(v, null, 2);
const draftKeyOf = (name?: string, version?: string) => `baton.designer.draft:${name ? `${name}:${version ?? ""}` : "new"}`;

export function DesignerPage() {
  const { name, version } = useParams();
  const saved = useApi(name ? `designer:${name}:${version ?? ""}` : null, () =>
    requestText(`/metadata/workflow/${encodeURIComponent(name!)}${qs({ version })}`),
  );
  const nv = useApi("designer:nv", () => request<Record<string, { name: string; version: number }[]>>("GET", "/metadata/workflow/names-and-versions"));
  if (name && saved.error) return <section className="page"><ErrorBox error={saved.error} /></section>;
  if (name && saved.data === undefined) return <section className="page"><p aria-busy="true">Loading…</p></section>;
  const original = name ? (JSON.parse(saved.data!) as Doc) : EMPTY_WORKFLOW;
  return (
    <Designer key={`${name ?? ""}:${version ?? ""}:${saved.data ?? ""}`} original={original} isNew={!name}
      lossy={name ? lossyNumbers(saved.data!) : []}
      draftKey={draftKeyOf(name, version)} names={nv.data ?? {}}
      reload={() => { saved.reload(); nv.reload(); }} />
  );
}

type Problem = { message: string; node?: string; ref?: string };

function Designer({ original, isNew, lossy, draftKey, names, reload }: {
  original: Doc;
  isNew: boolean;
  /** Numbers of the stored text that re-writing it would change. */
  lossy: string[];
  draftKey: string;
  names: Record<string, { name: string; version: number }[]>;
  reload: () => void;
}) {
  const navigate = useNavigate();
  const originalText = useMemo(() => S(original), [original]);
  const [restored, setRestored] = useState<number | undefined>(() => readDraft(draftKey)?.at);
  const [text, setTextState] = useState(() => readDraft(draftKey)?.text ?? originalText);
  const [doc, setDocState] = useState<Doc>(() => {
    try {
      const v = JSON.parse(text) as JsonValue;
      return isObj(v) ? v : original;
    } catch {
      return original;
    }
  });
  const [textError, setTextError] = useState<string>();
  const [selRef, setSelRef] = useState<string>();
  const [tab, setTab] = useState<"props" | "json" | "diff">("props");
  const [saveErrors, setSaveErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [moving, setMoving] = useState<string>(); // the ref of a task being moved without dragging
  const [dialog, setDialog] = useState<"overwrite" | "run" | "test" | "discard">();

  const docRef = useRef(doc);
  docRef.current = doc;
  // Undo and redo of canvas and form edits (typing in one field within a moment is one step).
  const history = useRef<{ undo: Doc[]; redo: Doc[]; at: number; group?: string }>({ undo: [], redo: [], at: 0 });
  const [, setHistoryTick] = useState(0);
  /**
   * A change made on the canvas or in a form: the JSON text follows. Changes of one `group` (a
   * form's fields) less than a second apart make one undo step.
   */
  const setDoc = useCallback((d: Doc, record: boolean | string = true) => {
    const h = history.current;
    if (record !== false && d !== docRef.current) {
      const now = Date.now();
      const group = typeof record === "string" ? record : undefined;
      if (!group || group !== h.group || now - h.at > 1000) h.undo = [...h.undo.slice(-99), docRef.current];
      h.group = group;
      h.at = now;
      h.redo = [];
      setHistoryTick((n) => n + 1);
    }
    setDocState(d);
    setTextState(S(d));
    setTextError(undefined);
  }, []);
  const undo = useCallback(() => {
    const h = history.current;
    const prev = h.undo.pop();
    if (!prev) return;
    h.redo.push(docRef.current);
    h.group = undefined;
    setDoc(prev, false);
    setHistoryTick((n) => n + 1);
  }, [setDoc]);
  const redo = useCallback(() => {
    const h = history.current;
    const next = h.redo.pop();
    if (!next) return;
    h.undo.push(docRef.current);
    h.group = undefined;
    setDoc(next, false);
    setHistoryTick((n) => n + 1);
  }, [setDoc]);
  const onText = (t: string) => {
    if (t === text) return;
    setTextState(t);
    try {
      const v = JSON.parse(t) as JsonValue;
      if (!isObj(v)) throw new Error("the definition must be a JSON object");
      setTextError(undefined);
      setDocState(v);
    } catch (e) {
      setTextError((e as Error).message);
    }
  };

  // The draft: unsaved work kept per definition until saved or discarded.
  // (A text that does not parse counts too: it is kept as typed.)
  const dirty = text !== originalText;
  useEffect(() => {
    keepDraft(draftKey, dirty ? text : undefined);
  }, [dirty, text, draftKey]);
  const discard = () => {
    localStorage.removeItem(draftKey);
    setRestored(undefined);
    setDoc(original);
    setTextState(originalText);
    setSelRef(undefined);
  };

  const graph = useMemo(() => designGraph(doc), [doc]);
  const selPath = selRef && selRef !== "__workflow" ? findRef(doc, selRef) : undefined;
  const selTask = selPath ? (getAt(doc, selPath) as Task) : undefined;

  // Live validation by the server's own validator.
  const [check, setCheck] = useState<{ state: "checking" | "valid" | "invalid" | "error"; problems: Problem[] }>({ state: "checking", problems: [] });
  useEffect(() => {
    let live = true;
    setCheck((c) => ({ ...c, state: "checking" }));
    const timer = setTimeout(async () => {
      try {
        await request("POST", "/metadata/workflow/validate", JSON.stringify(doc));
        if (live) setCheck({ state: "valid", problems: [] });
      } catch (e) {
        if (!live) return;
        const body = e instanceof ApiError ? (e.body as { validationErrors?: { path?: string; message?: string }[] } | undefined) : undefined;
        const list = body?.validationErrors?.length
          ? body.validationErrors.map((v) => {
              // Placed by its path, else by a task reference it names in quotes.
              let p = v.path ? taskPathOf(doc, v.path) : undefined;
              if (!p) {
                const msg = v.message ?? "";
                const named = [...allRefs(doc)].find((r) => r && [`"${r}"`, `'${r}'`, `\`${r}\``].some((q) => msg.includes(q)));
                if (named) p = findRef(doc, named);
              }
              const t = p ? (getAt(doc, p) as Task) : undefined;
              return { message: `${v.path ? v.path + ": " : ""}${v.message ?? ""}`, node: p ? taskId(p) : undefined, ref: t ? refOf(t) : undefined };
            })
          : problemsOf(e).map((m) => ({ message: m }));
        setCheck({ state: e instanceof ApiError && e.status === 400 ? "invalid" : "error", problems: list });
      }
    }, 500);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [doc]);
  const nodeProblems = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const p of check.problems) if (p.node) m.set(p.node, [...(m.get(p.node) ?? []), p.message.replace(/^\$\S*: /, "")]);
    return m;
  }, [check]);

  // Canvas actions.
  const actions: CanvasActions = useMemo(() => ({
    onSelect: (n: DNode | undefined) => {
      if (!n?.path) return setSelRef(undefined);
      setSelRef(refOf(getAt(docRef.current, n.path) as Task));
      setTab("props");
    },
    onAdd: (at: Point, type: string) => {
      const tasks = newTasks(docRef.current, type);
      setDoc(insertTasks(docRef.current, at, tasks));
      setSelRef(refOf(tasks[0]));
      setTab("props");
    },
    onMove: (from: Path, at: Point) => {
      setDoc(moveTask(docRef.current, from, at));
      setMoving(undefined);
    },
  }), [setDoc]);
  const del = useCallback(() => {
    const p = selRef ? findRef(docRef.current, selRef) : undefined;
    if (!p) return;
    setDoc(deleteTask(docRef.current, p));
    setSelRef(undefined);
  }, [selRef, setDoc]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setMoving(undefined);
      const t = e.target as HTMLElement;
      if (t.closest("input, textarea, select, [contenteditable=true], dialog")) return;
      if (e.key === "Delete") del();
      const z = e.key.toLowerCase() === "z" && (e.ctrlKey || e.metaKey);
      if (z && !e.shiftKey) (e.preventDefault(), undo());
      if ((z && e.shiftKey) || (e.key.toLowerCase() === "y" && (e.ctrlKey || e.metaKey))) (e.preventDefault(), redo());
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [del, undo, redo]);

  // Expression hints: ${workflow.input.x}, ${workflow.variables.x}, ${ref.output} of earlier tasks.
  const complete = useCallback((ctx: CompletionContext): CompletionResult | null => {
    const m = ctx.matchBefore(/\$\{[\w.-]*$/);
    if (!m) return null;
    const d = docRef.current;
    const inputs = Array.isArray(d.inputParameters) ? d.inputParameters.map(String) : [];
    const vars = isObj(d.variables) ? Object.keys(d.variables) : [];
    const p = selRef && selRef !== "__workflow" ? findRef(d, selRef) : undefined;
    let refs: string[] = [];
    if (p) refs = refsBefore(d, p);
    else walkTasks(d, (t) => refs.push(refOf(t)));
    const after = ctx.state.sliceDoc(ctx.pos, ctx.pos + 1);
    const close = after === "}" ? "" : "}";
    const opt = (label: string, detail: string) => ({ label, detail, apply: label + close, type: "variable" });
    return {
      from: m.from + 2,
      options: [
        opt("workflow.input", "the run's input"),
        ...inputs.map((k) => opt(`workflow.input.${k}`, "workflow input")),
        opt("workflow.variables", "workflow variables"),
        ...vars.map((k) => opt(`workflow.variables.${k}`, "variable")),
        opt("workflow.workflowId", "this run's id"),
        opt("workflow.correlationId", "correlation id"),
        ...refs.filter(Boolean).map((r) => opt(`${r}.output`, "output of a task before this one")),
      ],
      validFor: /^[\w.-]*$/,
    };
  }, [selRef]);

  // Saving.
  const name = typeof doc.name === "string" ? doc.name : "";
  const shownVersion = typeof original.version === "number" ? original.version : undefined;
  const existing = (names[name] ?? []).map((v) => v.version);
  const workflows = Object.keys(names).sort();
  const versionsOf = useMemo(() => Object.fromEntries(Object.entries(names).map(([k, l]) => [k, l.map((v) => v.version).sort((a, b) => b - a)])), [names]);
  const save = async (how: "create" | "new" | "overwrite") => {
    setSaveErrors([]);
    if (textError) return setSaveErrors(["The JSON does not parse: " + textError]);
    setBusy(true);
    try {
      let body = doc;
      if (how === "new") body = { ...doc, version: Math.max(0, Number(doc.version) || 0, shownVersion ?? 0, ...existing) + 1 };
      if (how === "overwrite") await request("PUT", "/metadata/workflow", JSON.stringify([body]));
      else await request("POST", "/metadata/workflow", JSON.stringify(body));
      localStorage.removeItem(draftKey);
      const v = String(body.version ?? "");
      if (how === "overwrite" && !isNew && body.name === original.name && body.version === original.version) reload();
      else navigate(`/designer/${encodeURIComponent(String(body.name))}/${v}`);
    } catch (e) {
      setSaveErrors(problemsOf(e));
    } finally {
      setBusy(false);
    }
  };

  const taskProblems = selTask ? nodeProblems.get(taskId(selPath!)) ?? [] : [];
  return (
    <section className="page designer-page" aria-labelledby="designer-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/definitions">Definitions</Link> /{" "}
            {!isNew && <Link to={`/definitions/${encodeURIComponent(String(original.name))}/${String(original.version)}`}>{String(original.name)} v{String(original.version)}</Link>}
          </p>
          <h1 id="designer-title">Designer: {name || "(no name)"} {isNew ? <span className="muted">new</span> : <span className="muted">v{String(original.version)}</span>}</h1>
        </div>
        <div className="row" role="toolbar" aria-label="Designer actions">
          {isNew
            ? <button className="btn primary" disabled={busy} onClick={() => save("create")}>Save</button>
            : <>
                <button className="btn primary" disabled={busy} onClick={() => save("new")}>Save as new version</button>
                <button className="btn danger" disabled={busy} onClick={() => { setSaveErrors([]); setDialog("overwrite"); }}>Overwrite v{String(original.version)}</button>
              </>}
          <button className="btn" disabled={!history.current.undo.length} onClick={undo} title="Ctrl+Z">Undo</button>
          <button className="btn" disabled={!history.current.redo.length} onClick={redo} title="Ctrl+Shift+Z">Redo</button>
          <button className="btn" disabled={isNew} title={isNew ? "Save it first" : undefined} onClick={() => setDialog("run")}>Run</button>
          <button className="btn" disabled={!!textError} onClick={() => setDialog("test")}>Test run</button>
          <button className="btn" disabled={!dirty} onClick={() => setDialog("discard")}>Discard changes</button>
        </div>
      </div>
      {restored && dirty && (
        <div className="outcome" role="status" aria-label="Draft">
          Restored unsaved changes from {new Date(restored).toLocaleString()}.{" "}
          <button className="linklike" onClick={discard}>Discard the draft</button>
        </div>
      )}
      {lossy.length > 0 && (
        <div className="outcome warn" role="note" aria-label="Numbers">
          This definition writes numbers that the designer would write differently once it re-writes
          the JSON ({lossy.map((n, i) => <code key={i}>{i ? ", " : ""}{n}</code>)}): saving from here
          changes them. To keep them exactly, edit the JSON text on the definition&apos;s Edit tab instead.
        </div>
      )}
      {saveErrors.length > 0 && (
        <div className="error" role="alert" aria-label="Save refused">
          <strong>Not saved.</strong>
          <ul className="problems">{saveErrors.map((e, i) => <li key={i}>{e}</li>)}</ul>
        </div>
      )}
      <div className="designer">
        <nav className="palette" aria-label="Task types">
          <h2>Tasks</h2>
          <p className="muted small">Drag onto a + on the canvas, or click a +.</p>
          <ul>
            {TASK_TYPES.map((t) => (
              <li key={t.type} draggable className="palette-item" data-type={t.type} title={t.hint} onDragStart={(e) => startPaletteDrag(e, t.type)}>
                <span>{t.label}</span> <span className="muted">{t.type}</span>
              </li>
            ))}
          </ul>
        </nav>
        <div className="designer-main">
          {moving && (
            <div className="outcome row" role="status" aria-label="Moving">
              Moving <strong>{moving}</strong>: choose where on the canvas (↓).
              <button className="btn small" onClick={() => setMoving(undefined)}>Cancel</button>
            </div>
          )}
          <Suspense fallback={<div className="diagram">Loading canvas…</div>}>
            <Canvas graph={graph} selected={selPath ? taskId(selPath) : undefined} problems={nodeProblems} actions={actions}
              moving={moving ? findRef(doc, moving) : undefined} />
          </Suspense>
          <div className="validation" role="region" aria-label="Validation" data-state={check.state}>
            {check.state === "checking" && <span className="muted">Checking…</span>}
            {check.state === "valid" && <span className="ok">Valid: the server accepts this definition.</span>}
            {(check.state === "invalid" || check.state === "error") && (
              <>
                <strong>{check.problems.length} problem{check.problems.length === 1 ? "" : "s"}</strong>
                <ul className="problems">
                  {check.problems.map((p, i) => (
                    <li key={i}>{p.ref ? <button className="linklike" onClick={() => { setSelRef(p.ref); setTab("props"); }}>{p.ref}</button> : null} {p.message}</li>
                  ))}
                </ul>
              </>
            )}
          </div>
        </div>
        <aside className="designer-panel" aria-label="Properties">
          <Tabs label="Designer panel" current={tab} onSelect={setTab}
            tabs={[{ id: "props", label: selTask ? "Task" : "Workflow" }, { id: "json", label: "JSON" }, { id: "diff", label: "Changes" }]} />
          <div role="tabpanel">
            {tab === "props" && selTask && selPath && (
              <>
                <div className="panel-head">
                  <h2>{refOf(selTask)} <span className="muted">{typeOf(selTask)}</span></h2>
                  <button className="btn small" onClick={() => setSelRef(undefined)} aria-label="Close task form">✕</button>
                </div>
                <TaskForm key={selPath.join("/")} task={selTask} problems={taskProblems} workflows={workflows} versions={versionsOf} complete={complete}
                  onChange={(t) => {
                    setDoc(replaceTask(docRef.current, selPath, t), `task:${selPath.join("/")}`);
                    if (refOf(t) !== selRef) setSelRef(refOf(t));
                  }}
                  onDelete={del}
                  onMove={() => setMoving(selRef)}
                  onAddCase={() => setDoc(addSwitchCase(docRef.current, selPath).doc)}
                  onRenameCase={(a, b) => setDoc(renameSwitchCase(docRef.current, selPath, a, b))}
                  onRemoveCase={(c) => setDoc(removeSwitchCase(docRef.current, selPath, c))}
                  onAddBranch={() => setDoc(addForkBranch(docRef.current, selPath))}
                  onRemoveBranch={(i) => setDoc(removeForkBranch(docRef.current, selPath, i))} />
              </>
            )}
            {tab === "props" && !selTask && <WorkflowForm doc={doc} onChange={(d) => setDoc(d, "workflow")} workflows={workflows} complete={complete} />}
            {tab === "json" && (
              <div className="stack">
                <Suspense fallback={<pre className="json-fallback">{text}</pre>}>
                  <JsonEditor text={text} editable follow onChange={onText} label="Definition JSON" minHeight="20em" complete={complete} />
                </Suspense>
                {textError && <p className="field-error" role="alert">Not valid JSON, the canvas shows the last valid one: {textError}</p>}
              </div>
            )}
            {tab === "diff" && <Changes before={originalText} after={S(doc)} what={isNew ? "an empty definition" : `saved v${String(original.version)}`} />}
          </div>
        </aside>
      </div>
      <datalist id="designer-task-types">{TASK_TYPES.map((t) => <option key={t.type} value={t.type} />)}</datalist>
      {dialog === "overwrite" && (
        <ConfirmDialog title={`Overwrite version ${String(original.version)}?`} danger label="Overwrite" onClose={() => setDialog(undefined)}
          run={async () => { await save("overwrite"); }}>
          <p>Runs already started keep the definition they started with; new runs use this one.</p>
        </ConfirmDialog>
      )}
      {dialog === "discard" && (
        <ConfirmDialog title="Discard the changes?" danger label="Discard" onClose={() => setDialog(undefined)} run={async () => discard()}>
          <p>The definition goes back to {isNew ? "an empty one" : `the saved version ${String(original.version)}`}.</p>
        </ConfirmDialog>
      )}
      {dialog === "run" && <RunDialog name={String(original.name)} version={shownVersion} dirty={dirty} doc={doc} onClose={() => setDialog(undefined)} />}
      {dialog === "test" && <TestDialog doc={doc} onClose={() => setDialog(undefined)} />}
    </section>
  );
}

function Changes({ before, after, what }: { before: string; after: string; what: string }) {
  return (
    <div className="stack">
      <p className="muted">Compared with {what}.</p>
      <TextDiff before={before} after={after} />
    </div>
  );
}

function RunDialog({ name, version, dirty, doc, onClose }: { name: string; version?: number; dirty: boolean; doc: Doc; onClose: () => void }) {
  const navigate = useNavigate();
  const inputs = Array.isArray(doc.inputParameters) ? doc.inputParameters.map(String) : [];
  const [input, setInput] = useState<JsonValue>(() => Object.fromEntries(inputs.map((k) => [k, ""])));
  const [correlationId, setCorrelationId] = useState("");
  return (
    <ConfirmDialog title={`Run ${name} v${version ?? ""}`} label="Start" onClose={onClose}
      run={async () => {
        try {
          const id = await request<string>("POST", "/workflow", { name, version, input, correlationId: correlationId || undefined });
          navigate(`/execution/${id}`);
        } catch (e) {
          throw new Error(problemsOf(e).join("; "));
        }
      }}>
      {dirty && <p className="warn">This runs the saved version {version}; unsaved changes are not part of it.</p>}
      <JsonField label="Input" value={input} onChange={setInput} />
      <label className="field"><span className="field-label">Correlation id</span><input value={correlationId} onChange={(e) => setCorrelationId(e.target.value)} /></label>
    </ConfirmDialog>
  );
}

function TestDialog({ doc, onClose }: { doc: Doc; onClose: () => void }) {
  const inputs = Array.isArray(doc.inputParameters) ? doc.inputParameters.map(String) : [];
  const [input, setInput] = useState<JsonValue>(() => Object.fromEntries(inputs.map((k) => [k, ""])));
  const [mocks, setMocks] = useState<JsonValue>(() => {
    const m: Record<string, JsonValue> = {};
    walkTasks(doc, (t, path) => {
      const ty = typeOf(t);
      // One entry per execution: a task in a loop gets a few (one per iteration).
      const n = path.includes("loopOver") ? 5 : 1;
      if (ty === "SIMPLE" || ty === "HTTP" || ty === "WAIT" || ty === "HUMAN") m[refOf(t)] = Array.from({ length: n }, () => ({ status: "COMPLETED", output: {} }));
    });
    return m;
  });
  const [result, setResult] = useState<Workflow>();
  const [error, setError] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError([]);
    try {
      setResult(await request<Workflow>("POST", "/workflow/test", {
        name: doc.name, version: doc.version, workflowDef: doc, input, taskRefToMockOutput: mocks,
      }));
    } catch (e) {
      setError(problemsOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title="Test run with mocked task outputs" onClose={onClose}>
      <div className="stack test-run">
        <JsonField label="Input" value={input} onChange={setInput} />
        <JsonField label="Mocked outputs (task reference → list of {status, output}, one per execution of the task)" value={mocks} onChange={setMocks} minHeight="8em" />
        <div className="dialog-actions">
          <button className="btn" onClick={onClose}>Close</button>
          <button className="btn primary" disabled={busy} onClick={run}>Run test</button>
        </div>
        {error.length > 0 && <div className="error" role="alert"><ul className="problems">{error.map((e, i) => <li key={i}>{e}</li>)}</ul></div>}
        {result && (
          <div className="stack" role="region" aria-label="Test run result">
            <p>Result: <StatusBadge status={result.status} /> {result.reasonForIncompletion ?? ""}{" "}
              {result.workflowId && <Link to={`/execution/${result.workflowId}`}>open the run</Link>}</p>
            <Suspense fallback={<div className="diagram test-diagram">Loading diagram…</div>}>
              <div className="test-diagram">
                <Diagram graph={buildGraph(doc as unknown as WorkflowDef, result, {})} onSelect={noop} onIter={noop} label="Diagram of the test run" />
              </div>
            </Suspense>
            <table className="grid">
              <thead><tr><th>Task</th><th>Type</th><th>Status</th></tr></thead>
              <tbody>
                {(result.tasks ?? []).map((t) => (
                  <tr key={t.taskId}><td>{t.referenceTaskName}</td><td>{t.taskType}</td><td><StatusBadge status={t.status} /></td></tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </Modal>
  );
}
