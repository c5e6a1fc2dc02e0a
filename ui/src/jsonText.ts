// JSON edited as text: re-indented and changed in place without parsing it into values, so
// every field, its order and every number stay exactly as the server wrote them.

/** Splits JSON text into tokens: strings, punctuation, and runs of anything else. */
function* tokens(text: string): Generator<{ t: string; start: number; end: number }> {
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\n" || c === "\r" || c === "\t") {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      yield { t: text.slice(i, j + 1), start: i, end: j + 1 };
      i = j + 1;
    } else if ("{}[]:,".includes(c)) {
      yield { t: c, start: i, end: i + 1 };
      i++;
    } else {
      let j = i;
      while (j < text.length && !' \n\r\t"{}[]:,'.includes(text[j])) j++;
      yield { t: text.slice(i, j), start: i, end: j };
      i = j;
    }
  }
}

/** The text indented by two spaces a level (empty objects and arrays kept on one line). */
export function reindent(text: string): string {
  const toks = [...tokens(text)];
  let out = "";
  let depth = 0;
  const nl = () => "\n" + "  ".repeat(depth);
  for (let k = 0; k < toks.length; k++) {
    const { t } = toks[k];
    const next = toks[k + 1]?.t;
    if ((t === "{" || t === "[") && (next === "}" || next === "]")) {
      out += t + next;
      k++;
    } else if (t === "{" || t === "[") {
      depth++;
      out += t + nl();
    } else if (t === "}" || t === "]") {
      depth--;
      out += nl() + t;
    } else if (t === ",") {
      out += "," + nl();
    } else if (t === ":") {
      out += ": ";
    } else {
      out += t;
    }
  }
  return out;
}

/** The text with a top-level key set to `valueText` (replaced where it is, else added first). */
export function setTopLevel(text: string, key: string, valueText: string): string {
  const span = topLevelValueSpan(text, key);
  if (span) return text.slice(0, span.start) + valueText + text.slice(span.end);
  const open = text.indexOf("{");
  if (open < 0) return text;
  const rest = text.slice(open + 1);
  const empty = rest.trim().startsWith("}");
  return text.slice(0, open + 1) + `\n  ${JSON.stringify(key)}: ${valueText}${empty ? "\n" : ","}` + rest;
}

/** Span of a top-level key's scalar value (numbers, strings, literals). */
export function topLevelValueSpan(text: string, key: string): { start: number; end: number } | null {
  const want = JSON.stringify(key);
  let depth = 0;
  let expectKey = false;
  let afterKey = 0; // 1: key seen, 2: colon seen
  for (const tok of tokens(text)) {
    if (afterKey === 2) {
      if (tok.t === "{" || tok.t === "[") return null; // not a scalar
      return { start: tok.start, end: tok.end };
    }
    if (tok.t === "{" || tok.t === "[") {
      depth++;
      expectKey = depth === 1 && tok.t === "{";
    } else if (tok.t === "}" || tok.t === "]") {
      depth--;
    } else if (depth === 1 && tok.t === ",") {
      expectKey = true;
    } else if (depth === 1 && expectKey) {
      expectKey = false;
      if (tok.t === want) afterKey = 1;
    } else if (depth === 1 && tok.t === ":" && afterKey === 1) {
      afterKey = 2;
    }
  }
  return null;
}
