import { useMemo } from "react";
import { diffLines } from "diff";

/** A line diff of two texts; long unchanged stretches folded. */
export function TextDiff({ before, after, label = "Changes" }: { before: string; after: string; label?: string }) {
  const parts = useMemo(() => diffLines(before, after), [before, after]);
  const changed = parts.some((p) => p.added || p.removed);
  if (!changed) return <p role="status">No changes.</p>;
  const added = parts.filter((p) => p.added).reduce((n, p) => n + (p.count ?? 0), 0);
  const removed = parts.filter((p) => p.removed).reduce((n, p) => n + (p.count ?? 0), 0);
  return (
    <div className="stack">
      <p className="muted small"><span className="diff-add">+{added}</span> <span className="diff-del">−{removed}</span> lines</p>
      <pre className="diff" aria-label={label}>
        {parts.map((p, i) => {
          const lines = p.value.replace(/\n$/, "").split("\n");
          if (!p.added && !p.removed && lines.length > 7) {
            return (
              <span key={i} className="diff-same">
                {lines.slice(0, 3).map((l) => `  ${l}\n`).join("")}
                <em className="diff-fold">{`  … ${lines.length - 6} unchanged lines\n`}</em>
                {lines.slice(-3).map((l) => `  ${l}\n`).join("")}
              </span>
            );
          }
          const mark = p.added ? "+" : p.removed ? "-" : " ";
          return <span key={i} className={p.added ? "diff-add" : p.removed ? "diff-del" : "diff-same"}>{lines.map((l) => `${mark} ${l}\n`).join("")}</span>;
        })}
      </pre>
    </div>
  );
}
