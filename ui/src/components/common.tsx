import { lazy, Suspense, useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router";
import type { Json } from "../api";

/** Loads once per change of `key` (never in a loop); `reload` fetches again. */
export function useApi<T>(key: string | null, load: () => Promise<T>) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: key !== null });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    if (key === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    loadRef.current().then(
      (data) => live && setState({ data, loading: false }),
      (e: unknown) => live && setState((s) => ({ data: s.data, error: String((e as Error).message ?? e), loading: false })),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge st-${status}`}>{status.replace(/_/g, " ")}</span>;
}

/** An API key's role as a small coloured label. */
export function RoleBadge({ role }: { role: string }) {
  return <span className={`badge role-${role}`}>{role}</span>;
}

export function ErrorBox({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {error}
    </div>
  );
}

export function NotFound() {
  return (
    <section className="page">
      <h1>Not found</h1>
      <p>
        Nothing here. <Link to="/executions">Go to executions</Link>.
      </p>
    </section>
  );
}

const JsonEditor = lazy(() => import("./JsonEditor"));

/** JSON in CodeMirror (its own chunk, loaded on first use). */
export function JsonView({ value, editable, onChange, label, minHeight }: {
  value: Json | unknown;
  editable?: boolean;
  onChange?: (text: string) => void;
  label: string;
  minHeight?: string;
}) {
  const text = typeof value === "string" && editable ? value : JSON.stringify(value ?? null, null, 2);
  return (
    <Suspense fallback={<pre className="json-fallback">{text}</pre>}>
      <JsonEditor text={text} editable={!!editable} onChange={onChange} label={label} minHeight={minHeight} />
    </Suspense>
  );
}

export function Tabs<T extends string>({ tabs, current, onSelect, label }: {
  tabs: { id: T; label: string }[];
  current: T;
  onSelect: (t: T) => void;
  label: string;
}) {
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const onKey = (e: React.KeyboardEvent, i: number) => {
    let j = -1;
    if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
    if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
    if (j >= 0) {
      e.preventDefault();
      onSelect(tabs[j].id);
      refs.current[tabs[j].id]?.focus();
    }
  };
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((t, i) => (
        <button
          key={t.id}
          ref={(el) => {
            refs.current[t.id] = el;
          }}
          role="tab"
          aria-selected={current === t.id}
          tabIndex={current === t.id ? 0 : -1}
          onClick={() => onSelect(t.id)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** A modal dialog (the native <dialog>, so focus and Escape behave). */
export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} className="modal" aria-label={title} onClose={onClose} onCancel={onClose}>
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

export function KeyValues({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {items
        .filter(([, v]) => v !== undefined && v !== null && v !== "")
        .map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}

export function parseJsonInput(text: string): { value?: Record<string, Json>; error?: string } {
  if (!text.trim()) return { value: {} };
  try {
    const v = JSON.parse(text) as Json;
    if (v === null || typeof v !== "object" || Array.isArray(v)) return { error: "Enter a JSON object" };
    return { value: v as Record<string, Json> };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * Loads now and again every `ms` while the tab is visible (paused while it is hidden, loaded
 * again at once when it shows). `paused` tells which.
 */
export function useInterval<T>(key: string, ms: number, load: () => Promise<T>) {
  const [state, setState] = useState<{ data?: T; error?: string; at?: number }>({});
  const [paused, setPaused] = useState(typeof document !== "undefined" && document.hidden);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      clearTimeout(timer);
      if (document.hidden) return;
      try {
        const data = await loadRef.current();
        if (live) setState({ data, at: Date.now() });
      } catch (e) {
        if (live) setState((s) => ({ ...s, error: String((e as Error).message ?? e) }));
      }
      if (live && !document.hidden) timer = setTimeout(run, ms);
    };
    const onVisibility = () => {
      setPaused(document.hidden);
      if (document.hidden) clearTimeout(timer);
      else void run();
    };
    document.addEventListener("visibilitychange", onVisibility);
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [key, ms]);
  return { ...state, paused };
}

/** A confirmation dialog that runs `run`, shows its error or closes. */
export function ConfirmDialog({ title, run, onClose, children, danger, label = "Confirm" }: {
  title: string;
  run: () => Promise<void>;
  onClose: () => void;
  children?: ReactNode;
  danger?: boolean;
  label?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await run();
      onClose();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <Modal title={title} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        {children}
        <ErrorBox error={error} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className={`btn ${danger ? "danger" : "primary"}`} disabled={busy}>{label}</button>
        </div>
      </form>
    </Modal>
  );
}

/** Result count, previous and next page, and page size, for a paged search. */
export function Pager({ start, size, total, onStart, onSize }: {
  start: number;
  size: number;
  total: number;
  onStart: (start: number) => void;
  onSize: (size: number) => void;
}) {
  return (
    <>
      <span className="count" data-testid="result-count">
        {total ? `${start + 1}–${Math.min(start + size, total)} of ${total}` : "0 results"}
      </span>
      <button className="btn" disabled={start === 0} onClick={() => onStart(Math.max(0, start - size))}>
        ‹ Previous
      </button>
      <button className="btn" disabled={start + size >= total} onClick={() => onStart(start + size)}>
        Next ›
      </button>
      <label>
        Per page{" "}
        <select value={size} onChange={(e) => onSize(Number(e.target.value))}>
          {[10, 25, 50, 100, 250].map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </label>
    </>
  );
}
