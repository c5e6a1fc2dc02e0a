// One execution kept up to date: pushed by the server (GET /api/workflow/{id}/watch, server-sent
// events), or fetched again every few seconds when the event stream keeps failing.
import { useCallback, useEffect, useRef, useState } from "react";
import { request, ApiError, TERMINAL, type Workflow } from "./api";

export const POLL_MS = 3000;
/** Polling after the run has ended, in case it is retried or restarted elsewhere. */
const POLL_ENDED_MS = 15000;
/** Stream errors in a row (with no event between them) before falling back to polling. */
const MAX_STREAM_FAILURES = 3;

export type UpdateMode = "connecting" | "live" | "polling" | "removed";

export interface Watched {
  data?: Workflow;
  error?: string;
  mode: UpdateMode;
  /** Fetch once now (after an action; the stream would bring it soon anyway). */
  reload: () => void;
}

export function useWatchedWorkflow(id: string): Watched {
  const [data, setData] = useState<Workflow>();
  const [error, setError] = useState<string>();
  const [mode, setMode] = useState<UpdateMode>("connecting");
  const [tick, setTick] = useState(0);
  const path = `/workflow/${encodeURIComponent(id)}`;
  // Whether the watch of the current id is still on (answers for an older id are dropped).
  const current = useRef<() => boolean>(() => false);

  const fetchOnce = useCallback(async (alive: () => boolean): Promise<Workflow | undefined> => {
    try {
      const w = await request<Workflow>("GET", `${path}?includeTasks=true`);
      if (!alive()) return undefined;
      setData(w);
      setError(undefined);
      return w;
    } catch (e) {
      if (!alive()) return undefined;
      setError((e as Error).message);
      if (e instanceof ApiError && e.status === 404) throw e;
      return undefined;
    }
  }, [path]);

  useEffect(() => {
    let on = true;
    const alive = () => on;
    current.current = alive;
    setData(undefined);
    setError(undefined);
    setMode("connecting");
    let es: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let seen = false; // any event on this page
    let failures = 0;

    const poll = async () => {
      let w: Workflow | undefined;
      try {
        w = await fetchOnce(alive);
      } catch {
        // 404: deleted while we watched, or never there (the error is shown).
        if (on && seen) setMode("removed");
        return;
      }
      if (!on) return;
      if (w) seen = true;
      timer = setTimeout(poll, w && TERMINAL.has(w.status) ? POLL_ENDED_MS : POLL_MS);
    };
    const fallBack = () => {
      es?.close();
      es = null;
      setMode("polling");
      void poll();
    };

    if (typeof EventSource === "undefined") {
      fallBack();
    } else {
      es = new EventSource(`/api${path}/watch`);
      es.addEventListener("workflow", (ev) => {
        try {
          const w = JSON.parse((ev as MessageEvent<string>).data) as Workflow;
          seen = true;
          failures = 0;
          setData(w);
          setError(undefined);
          setMode("live");
        } catch {
          /* a malformed event: the next one replaces it */
        }
      });
      es.addEventListener("removed", () => {
        es?.close();
        es = null;
        setMode("removed");
      });
      es.onerror = () => {
        if (!es) return;
        failures++;
        // CLOSED: the browser gave up (an error answer such as 404); else it retries by itself.
        if (es.readyState === EventSource.CLOSED || failures >= MAX_STREAM_FAILURES) fallBack();
        else setMode("connecting");
      };
    }
    return () => {
      on = false;
      es?.close();
      clearTimeout(timer);
    };
  }, [path, fetchOnce]);

  // A one-off fetch asked for by an action.
  useEffect(() => {
    if (tick > 0) fetchOnce(current.current).catch(() => {});
  }, [tick, fetchOnce]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, mode, reload };
}
