import { useEffect, useState, useSyncExternalStore } from "react";

export type ThemeChoice = "system" | "light" | "dark";
const KEY = "baton.theme";
const media = () => window.matchMedia("(prefers-color-scheme: dark)");

function subscribeMedia(cb: () => void) {
  const m = media();
  m.addEventListener("change", cb);
  return () => m.removeEventListener("change", cb);
}

/** The user's choice (kept in localStorage) and the theme in force. */
export function useTheme(): [ThemeChoice, "light" | "dark", (t: ThemeChoice) => void] {
  const [choice, setChoice] = useState<ThemeChoice>(() => (localStorage.getItem(KEY) as ThemeChoice) || "system");
  const osDark = useSyncExternalStore(subscribeMedia, () => media().matches);
  const resolved = choice === "system" ? (osDark ? "dark" : "light") : choice;
  useEffect(() => {
    document.documentElement.dataset.theme = resolved;
    if (choice === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  }, [choice, resolved]);
  return [choice, resolved, setChoice];
}

export function currentTheme(): "light" | "dark" {
  return document.documentElement.dataset.theme === "dark" ? "dark" : "light";
}

/** Re-renders when the document's theme attribute changes. */
export function useResolvedTheme(): "light" | "dark" {
  return useSyncExternalStore(
    (cb) => {
      const o = new MutationObserver(cb);
      o.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
      return () => o.disconnect();
    },
    currentTheme,
  );
}
