/**
 * Regenerates the golden simulated times (src/experiments/golden-times.json) and prints what
 * changed, so a cost-model change is a reviewed diff:
 *   npx tsx scripts/golden-times.ts            # diff against the pinned file, exit 1 if any
 *   npx tsx scripts/golden-times.ts --update   # write the new figures, print the diff
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { goldenRecords } from '../src/experiments/golden-times.ts';

const FILE = new URL('../src/experiments/golden-times.json', import.meta.url);

function flatten(x: unknown, prefix: string, out: Map<string, string>): void {
  if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
    for (const [k, v] of Object.entries(x)) flatten(v, prefix === '' ? k : `${prefix} / ${k}`, out);
  } else out.set(prefix, JSON.stringify(x));
}

const update = process.argv.includes('--update');
let old: unknown = {};
try {
  old = JSON.parse(readFileSync(FILE, 'utf8'));
} catch {
  old = {};
}
const now = goldenRecords();
const a = new Map<string, string>();
const b = new Map<string, string>();
flatten(old, '', a);
flatten(now, '', b);
let changed = 0;
for (const k of new Set([...a.keys(), ...b.keys()])) {
  if (a.get(k) === b.get(k)) continue;
  changed++;
  console.log(`${k}: ${a.get(k) ?? '(none)'} -> ${b.get(k) ?? '(none)'}`);
}
console.log(`${changed} golden figure(s) changed`);
if (update) writeFileSync(FILE, `${JSON.stringify(now, null, 1)}\n`);
else if (changed > 0) process.exitCode = 1;
