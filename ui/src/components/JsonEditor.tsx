import { useEffect, useRef } from "react";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { json } from "@codemirror/lang-json";
import { syntaxHighlighting, HighlightStyle, foldGutter, bracketMatching, foldKeymap } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { autocompletion, type CompletionSource } from "@codemirror/autocomplete";

// Colours come from the page's CSS variables, so one style serves both themes.
const highlight = HighlightStyle.define([
  { tag: tags.propertyName, color: "var(--json-key)" },
  { tag: tags.string, color: "var(--json-string)" },
  { tag: tags.number, color: "var(--json-number)" },
  { tag: [tags.bool, tags.null], color: "var(--json-literal)" },
]);

const theme = EditorView.theme({
  "&": { backgroundColor: "var(--code-bg)", color: "var(--fg)", fontSize: "13px", border: "1px solid var(--border)", borderRadius: "6px" },
  ".cm-gutters": { backgroundColor: "var(--code-bg)", color: "var(--muted)", border: "none" },
  ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "var(--hover)" },
  "&.cm-focused": { outline: "2px solid var(--accent)" },
  ".cm-content": { caretColor: "var(--fg)", fontFamily: "var(--mono)" },
  ".cm-scroller": { overflow: "auto", maxHeight: "70vh" },
});

export default function JsonEditor({ text, editable, onChange, label, minHeight, follow, complete }: {
  text: string;
  editable: boolean;
  onChange?: (text: string) => void;
  label: string;
  minHeight?: string;
  /** An editable editor that also takes later values of `text` (changes made elsewhere). */
  follow?: boolean;
  /** Completions offered while typing. */
  complete?: CompletionSource;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const completeRef = useRef(complete);
  completeRef.current = complete;

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: text,
        extensions: [
          lineNumbers(),
          foldGutter(),
          history(),
          bracketMatching(),
          highlightActiveLine(),
          keymap.of([...defaultKeymap, ...historyKeymap, ...foldKeymap]),
          json(),
          ...(complete ? [autocompletion({ override: [(ctx) => completeRef.current?.(ctx) ?? null] })] : []),
          syntaxHighlighting(highlight),
          theme,
          EditorState.readOnly.of(!editable),
          EditorView.editable.of(editable),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current?.(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [editable, label, !!complete]);

  // Later values replace the document (read-only views follow live data).
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== text && (!editable || follow)) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text } });
    }
  }, [text, editable, follow]);

  return <div ref={host} className="json-editor" style={{ minHeight }} />;
}
