import { useEffect, useRef, useState } from "react";
import { useBlocker } from "react-router";
import { request, qs, problems } from "../api";
import { JsonView, ConfirmDialog } from "./common";
import { reindent, setTopLevel } from "../jsonText";
import { readDraft, keepDraft } from "../drafts";

/**
 * A workflow or task definition edited as raw JSON text: what is sent is the text itself, so
 * fields this UI does not know are kept exactly as written.
 */
export function DefEditor({ kind, initial, draftKey, create, versions = [], onSaved }: {
  kind: "workflow" | "task" | "event";
  initial: string;
  /** Where unsaved text is kept (localStorage) until saved or discarded. */
  draftKey: string;
  /** Creating a new definition (else editing the one loaded). */
  create?: boolean;
  /** Versions that exist of this workflow (to number a new one). */
  versions?: number[];
  onSaved: (name: string, version?: number) => void;
}) {
  // Unsaved text from an earlier visit comes back.
  const [restored, setRestored] = useState(() => {
    const d = readDraft(draftKey);
    return d && d.text !== initial ? d : undefined;
  });
  const [text, setText] = useState(restored?.text ?? initial);
  const [doc, setDoc] = useState({ text: restored?.text ?? initial, n: 0 }); // what the editor shows (bumped to replace it)
  useEffect(() => keepDraft(draftKey, text !== initial ? text : undefined), [draftKey, text, initial]);
  const [errors, setErrors] = useState<string[]>([]);
  const [ok, setOk] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState(false);

  // Unsaved changes: leaving (another page, another tab, closing) asks first; saving does not.
  const dirty = useRef(false);
  dirty.current = text !== initial;
  const saving = useRef(false);
  const blocker = useBlocker(() => dirty.current && !saving.current);
  useEffect(() => {
    const warn = (e: BeforeUnloadEvent) => {
      if (dirty.current && !saving.current) e.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, []);
  const saved = (name: string, version?: number) => {
    saving.current = true;
    keepDraft(draftKey, undefined);
    onSaved(name, version);
  };

  const parsed = (): { name?: string; version?: number } | null => {
    try {
      const v = JSON.parse(text) as unknown;
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        setErrors(["The definition must be a JSON object."]);
        return null;
      }
      const o = v as { name?: unknown; version?: unknown };
      return { name: typeof o.name === "string" ? o.name : undefined, version: typeof o.version === "number" ? o.version : undefined };
    } catch (e) {
      setErrors(["Not valid JSON: " + (e as Error).message]);
      return null;
    }
  };
  const run = async (what: () => Promise<string | void>) => {
    setErrors([]);
    setOk(undefined);
    if (!parsed()) return;
    setBusy(true);
    try {
      const m = await what();
      if (m) setOk(m);
    } catch (e) {
      setErrors(problems(e));
    } finally {
      setBusy(false);
    }
  };
  const replaceDoc = (t: string) => {
    setText(t);
    setDoc((d) => ({ text: t, n: d.n + 1 }));
  };

  const validate = () =>
    run(async () => {
      await request("POST", "/metadata/workflow/validate", text);
      return "Valid.";
    });
  const saveNew = () =>
    run(async () => {
      const p = parsed()!;
      const next = Math.max(0, p.version ?? 0, ...versions) + 1;
      const body = setTopLevel(text, "version", String(next));
      await request("POST", "/metadata/workflow", body);
      saved(p.name ?? "", next);
    });
  const overwrite = async () => {
    const p = parsed()!;
    await request("POST", `/metadata/workflow${qs({ overwrite: true })}`, text);
    saved(p.name ?? "", p.version);
  };
  const createWf = () =>
    run(async () => {
      const p = parsed()!;
      await request("POST", "/metadata/workflow", text);
      saved(p.name ?? "", p.version);
    });
  const saveTask = () =>
    run(async () => {
      const p = parsed()!;
      if (create) await request("POST", "/metadata/taskdefs", `[${text}]`);
      else await request("PUT", "/metadata/taskdefs", text);
      saved(p.name ?? "");
    });

  const saveEvent = () =>
    run(async () => {
      const p = parsed()!;
      await request(create ? "POST" : "PUT", "/event", text);
      saved(p.name ?? "");
    });

  const p = (() => {
    try {
      const v = JSON.parse(text) as { version?: unknown };
      return typeof v?.version === "number" ? v.version : undefined;
    } catch {
      return undefined;
    }
  })();
  return (
    <div className="def-editor stack">
      {restored && (
        <p className="outcome" role="status" aria-label="Draft">
          Unsaved changes from {new Date(restored.at).toLocaleString()} were kept and are shown.{" "}
          <button className="linklike" onClick={() => { setRestored(undefined); setErrors([]); setOk(undefined); replaceDoc(initial); }}>Discard them</button>
        </p>
      )}
      <JsonView key={doc.n} value={doc.text} editable onChange={setText} label={kind === "workflow" ? "Workflow definition JSON" : kind === "task" ? "Task definition JSON" : "Event handler JSON"} minHeight="16em" />
      <div className="row" role="toolbar" aria-label="Definition actions">
        {kind === "workflow" && <button className="btn" disabled={busy} onClick={validate}>Validate</button>}
        {kind === "workflow" && create && <button className="btn primary" disabled={busy} onClick={createWf}>Create</button>}
        {kind === "workflow" && !create && (
          <>
            <button className="btn primary" disabled={busy} onClick={saveNew}>Save as new version</button>
            <button className="btn danger" disabled={busy} onClick={() => { setErrors([]); setOk(undefined); if (parsed()) setConfirm(true); }}>
              Overwrite{p !== undefined ? ` v${p}` : ""}
            </button>
          </>
        )}
        {kind === "task" && <button className="btn primary" disabled={busy} onClick={saveTask}>{create ? "Create" : "Save"}</button>}
        {kind === "event" && <button className="btn primary" disabled={busy} onClick={saveEvent}>{create ? "Create" : "Save"}</button>}
        <button className="btn" disabled={busy} onClick={() => {
          try {
            JSON.parse(text);
            replaceDoc(reindent(text));
          } catch (e) {
            setErrors(["Not valid JSON: " + (e as Error).message]);
          }
        }}>Format</button>
        <button className="btn" disabled={busy || text === initial} onClick={() => { setErrors([]); setOk(undefined); setRestored(undefined); replaceDoc(initial); }}>Discard changes</button>
        {ok && <span className="ok" role="status">{ok}</span>}
      </div>
      {errors.length > 0 && (
        <div className="error" role="alert" aria-label="Problems">
          <ul className="problems">{errors.map((e, i) => <li key={i}>{e}</li>)}</ul>
        </div>
      )}
      {blocker.state === "blocked" && (
        <ConfirmDialog title="Leave without saving?" danger label="Discard changes"
          onClose={() => {
            if (!saving.current) blocker.reset?.();
          }}
          run={async () => {
            saving.current = true; // leaving: the dialog's close must not cancel it
            blocker.proceed?.();
          }}>
          <p>The changes to this definition are not saved.</p>
        </ConfirmDialog>
      )}
      {confirm && (
        <ConfirmDialog title={`Overwrite version ${p ?? ""}?`} danger label="Overwrite" onClose={() => setConfirm(false)}
          run={async () => {
            try {
              await overwrite();
            } catch (e) {
              throw new Error(problems(e).join("; "));
            }
          }}>
          <p>Runs already started keep the definition they started with; new runs use this one.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

export const NEW_WORKFLOW = `{
  "name": "my_workflow",
  "version": 1,
  "description": "",
  "schemaVersion": 2,
  "ownerEmail": "",
  "inputParameters": [],
  "tasks": [
    {
      "name": "my_task",
      "taskReferenceName": "my_task",
      "type": "SIMPLE",
      "inputParameters": {}
    }
  ],
  "outputParameters": {},
  "timeoutSeconds": 0
}
`;

export const NEW_TASK = `{
  "name": "my_task",
  "description": "",
  "retryCount": 3,
  "retryLogic": "FIXED",
  "retryDelaySeconds": 60,
  "timeoutSeconds": 0,
  "timeoutPolicy": "TIME_OUT_WF",
  "responseTimeoutSeconds": 600,
  "ownerEmail": ""
}
`;

export const NEW_EVENT_HANDLER = `{
  "name": "my_handler",
  "event": "conductor:my_workflow:my_task",
  "condition": "true",
  "evaluatorType": "javascript",
  "active": true,
  "actions": [
    {
      "action": "start_workflow",
      "start_workflow": {
        "name": "other_workflow",
        "input": {}
      }
    }
  ]
}
`;
