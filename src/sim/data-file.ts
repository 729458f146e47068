/** Models no kernel file: reading profile and reference files (JSON, YAML) with one-line errors naming file, line and field. */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { UserError } from './user-error.ts';

/** How a data file is written: strict JSON, or YAML (which JSON also is). */
export type DataFormat = 'json' | 'yaml';

/**
 * Reads and validates a JSON or YAML file. Every failure is one `UserError` line naming the file,
 * the line and the field: an unreadable file, a syntax error (a trailing comma in JSON, an unknown
 * YAML tag), or a value the schema refuses. A leading UTF-8 byte order mark is ignored.
 */
export function readDataFile<T>(
  path: string,
  format: DataFormat,
  schema: z.ZodType<T>,
  errorOf: (message: string) => UserError,
): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw errorOf(`cannot read '${path}' (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, logLevel: 'silent' });
  let data: unknown;
  if (format === 'json') {
    try {
      data = JSON.parse(text);
    } catch (e) {
      const at = jsonErrorOffset(text);
      const { line } = lines.linePos(at);
      const key = lastKeyBefore(text, at);
      const msg = (e as Error).message;
      const what = msg.startsWith('Unexpected token')
        ? `Unexpected token ${JSON.stringify(text[at] ?? '')}`
        : msg.replace(/ in JSON at position \d+.*$/s, '');
      throw errorOf(`${path}:${line}: not valid JSON${key ? ` after "${key}"` : ''}: ${what}`);
    }
  } else {
    const bad = [...doc.errors, ...doc.warnings][0];
    if (bad !== undefined) {
      const line = bad.linePos?.[0].line ?? 1;
      throw errorOf(`${path}:${line}: not valid YAML: ${bad.message.split(' at line ')[0].split('\n')[0]}`);
    }
    data = doc.toJS();
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.map(String);
  return failAt(path, field, issue.message, doc, lines, errorOf);
}

function failAt(
  path: string,
  field: string[],
  message: string,
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  errorOf: (message: string) => UserError,
): never {
  // The line of the field, or of its nearest ancestor present in the file (for a missing field).
  let line = 1;
  for (let n = field.length; n >= 0; n--) {
    const node = doc.getIn(field.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range !== undefined) {
      line = lines.linePos(node.range[0]).line;
      break;
    }
  }
  throw errorOf(`${path}:${line}: ${field.join('.') || '(top level)'}: ${message}`);
}

/**
 * Offset of the character that makes `text` invalid JSON: the shortest prefix that fails for a
 * reason other than ending too early ends with it (a prefix of valid JSON only ever ends too early).
 */
function jsonErrorOffset(text: string): number {
  const failsEarly = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return false;
    } catch (e) {
      const m = /at position (\d+)/.exec((e as Error).message);
      if (m !== null) return Number(m[1]) < n;
      return !(e as Error).message.startsWith('Unexpected end');
    }
  };
  let lo = 1;
  let hi = text.length;
  if (!failsEarly(hi)) return Math.max(0, text.length - 1);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsEarly(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

function lastKeyBefore(text: string, at: number): string | null {
  let key: string | null = null;
  for (const m of text.slice(0, at + 1).matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)) key = m[1];
  return key;
}
