import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('shows the API snippet that examples/readme-api.ts holds (and biome and tsc check)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)![1];
    expect(snippet).toBe(readFileSync(new URL('../examples/readme-api.ts', import.meta.url), 'utf8'));
  });
});
