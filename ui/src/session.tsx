// Who the UI is signed in as. The server keeps the session in an HttpOnly cookie, so the page
// only asks (`GET /api/session`), signs in with an API key and signs out.
import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { request, onUnauthorized, newSession, type Session } from "./api";

export interface SessionState {
  /** Unknown until the first answer. */
  session?: Session;
  /** The server's message when an API call was refused for want of credentials. */
  reason?: string;
  /** Bumped at every sign-in, so the page shown after it loads afresh. */
  epoch: number;
  signIn: (key: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const SIGNED_OUT: Session = { authEnabled: true, signedIn: false };

/** The session of the whole UI (used once, by the layout). */
export function useSessionState(): SessionState {
  const [session, setSession] = useState<Session>();
  const [reason, setReason] = useState<string>();
  const [epoch, setEpoch] = useState(0);

  useEffect(() => {
    let live = true;
    request<Session>("GET", "/session").then(
      (s) => live && setSession(s ?? { authEnabled: false, signedIn: false }),
      // A server that keeps no sessions asks for no credentials either.
      () => live && setSession({ authEnabled: false, signedIn: false }),
    );
    onUnauthorized((message) => {
      setSession(SIGNED_OUT);
      setReason(message);
    });
    return () => {
      live = false;
      onUnauthorized(() => {});
    };
  }, []);

  const signIn = useCallback(async (key: string) => {
    const s = await request<Session>("POST", "/session", { key: key.trim() });
    newSession();
    setReason(undefined);
    setSession({ authEnabled: s.authEnabled, signedIn: s.signedIn, keyId: s.keyId, name: s.name, role: s.role });
    setEpoch((n) => n + 1);
  }, []);

  const signOut = useCallback(async () => {
    newSession();
    try {
      await request("DELETE", "/session");
    } finally {
      setReason(undefined);
      setSession(SIGNED_OUT);
    }
  }, []);

  return { session, reason, epoch, signIn, signOut };
}

const SessionContext = createContext<Session>({ authEnabled: false, signedIn: false });
export const SessionProvider = SessionContext.Provider;

/** The session the pages run in (auth off: `authEnabled` false). */
export function useSession(): Session {
  return useContext(SessionContext);
}

/** Whether the keys and the audit log are for this session to see. */
export function isAdmin(s: Session): boolean {
  return !s.authEnabled || s.role === "admin";
}
