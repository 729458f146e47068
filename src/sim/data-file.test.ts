import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readDataFile } from './data-file.ts';
import { UserError } from './user-error.ts';

const schema = z.object({ name: z.string(), rows: z.array(z.object({ n: z.number().int().min(1) })) });
const dir = mkdtempSync(join(tmpdir(), 'mmulab-data-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const read = (p: string, f: 'json' | 'yaml') => readDataFile(p, f, schema, (m) => new UserError(`data ${m}`));

describe('readDataFile', () => {
  it('accepts a UTF-8 byte order mark', () => {
    const p = file('bom.json', '\uFEFF{ "name": "a", "rows": [{ "n": 1 }] }\n');
    expect(read(p, 'json')).toEqual({ name: 'a', rows: [{ n: 1 }] });
    const y = file('bom.yaml', '\uFEFFname: a\nrows:\n  - n: 2\n');
    expect(read(y, 'yaml')).toEqual({ name: 'a', rows: [{ n: 2 }] });
  });

  it('names the line and the key before a JSON syntax error, in one line', () => {
    const p = file('comma.json', '{\n  "name": "a",\n  "rows": [{ "n": 1 }],\n}\n');
    expect(() => read(p, 'json')).toThrow(
      `data ${p}:4: not valid JSON after "n": Expected double-quoted property name`,
    );
    const t = file('token.json', '{\n  "name": "a",\n  "rows": tru\n}\n');
    expect(() => read(t, 'json')).toThrow(`data ${t}:3: not valid JSON after "rows": Unexpected token "\\n"`);
    const e = file('empty.json', '');
    expect(() => read(e, 'json')).toThrow(`data ${e}:1: not valid JSON: Unexpected end of JSON input`);
  });

  it('refuses an unknown YAML tag with one line naming its line, and logs nothing', () => {
    const p = file('tag.yaml', 'name: a\nrows:\n  - n: !weird 3\n');
    expect(() => read(p, 'yaml')).toThrow(`data ${p}:3: not valid YAML: Unresolved tag: !weird`);
  });

  it('names the file, line and field a schema refuses', () => {
    const p = file('bad.yaml', 'name: a\nrows:\n  - n: 1\n  - n: 0\n');
    expect(() => read(p, 'yaml')).toThrow(`data ${p}:4: rows.1.n: Too small: expected number to be >=1`);
    const j = file('missing.json', '{\n  "rows": []\n}\n');
    expect(() => read(j, 'json')).toThrow(
      `data ${j}:1: name: Invalid input: expected string, received undefined`,
    );
    expect(() => read(join(dir, 'none.json'), 'json')).toThrow(
      `data cannot read '${join(dir, 'none.json')}' (ENOENT)`,
    );
  });
});
