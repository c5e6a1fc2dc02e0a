// Unsaved editor text kept in localStorage, so that a reload or a closed tab loses nothing.

/** A draft: the text and when it was last changed (epoch ms). */
export interface Draft {
  at: number;
  text: string;
}

/** The draft kept under `key`, if any. */
export function readDraft(key: string): Draft | undefined {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? "null") as Draft | null;
    return v && typeof v.text === "string" && typeof v.at === "number" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps `text` under `key`, or forgets the draft when `text` is undefined. */
export function keepDraft(key: string, text: string | undefined) {
  try {
    if (text === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify({ at: Date.now(), text } satisfies Draft));
  } catch {
    /* storage full or refused: the page still warns before leaving */
  }
}
