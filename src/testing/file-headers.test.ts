import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** src/, the root of the files checked. */
const SRC = fileURLToPath(new URL('..', import.meta.url));
/** A kernel source path such as mm/vmscan.c or include/linux/mmu_notifier.h. */
const KERNEL_PATH = /\b(?:mm|arch|virt|kernel|include|lib|fs|tools)\/[\w/.-]+\.[ch]\b/;
const NO_KERNEL_FILE = 'Models no kernel file';
/** The header comment must start within this many lines. */
const HEADER_LINES = 40;

/**
 * Files being edited elsewhere that still lack such a header. Remove a file from the list once its
 * header is in: the second test fails while a listed file already has one.
 */
const ALLOWED_WITHOUT_HEADER = [
  'cli/calibrate-command.ts',
  'cli/main.ts',
  'cli/micro-command.ts',
  'cli/parse-size.ts',
  'cli/progress.ts',
  'cli/trace-file.ts',
  'cli/variants-command.ts',
];

/** Every .ts file under `dir` but the tests, as paths relative to src/, sorted. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(relative(SRC, p));
  }
  return out.sort();
}

/** The file's first doc comment, if it starts within the first HEADER_LINES lines. */
function headerComment(text: string): string | null {
  const head = text.split('\n').slice(0, HEADER_LINES).join('\n');
  const start = head.indexOf('/**');
  if (start < 0) return null;
  const end = text.indexOf('*/', start + 3);
  return end < 0 ? null : text.slice(start, end + 2);
}

/** Whether the header comment names a kernel file or says that the file models none. */
function hasKernelHeader(text: string): boolean {
  const h = headerComment(text);
  return h !== null && (KERNEL_PATH.test(h) || h.includes(NO_KERNEL_FILE));
}

const read = (f: string) => readFileSync(join(SRC, f), 'utf8');

describe('file headers: which kernel file each source file models', () => {
  const files = sourceFiles(SRC);

  it('every non-test source file under src/ says it in its first doc comment', () => {
    expect(files).toContain('host/fault.ts');
    expect(files).toContain('testing/vm-fixture.ts');
    expect(files).not.toContain('testing/file-headers.test.ts');
    const missing = files.filter((f) => !ALLOWED_WITHOUT_HEADER.includes(f) && !hasKernelHeader(read(f)));
    expect(missing).toEqual([]);
  });

  it('the allow-list holds only existing files that still lack the header', () => {
    for (const f of ALLOWED_WITHOUT_HEADER) expect(files).toContain(f);
    expect(ALLOWED_WITHOUT_HEADER.filter((f) => hasKernelHeader(read(f)))).toEqual([]);
  });

  it('the check: a kernel path or "Models no kernel file" in the first doc comment, within 40 lines', () => {
    expect(hasKernelHeader('/** walk_mm (mm/vmscan.c). */\nexport const x = 1;\n')).toBe(true);
    expect(hasKernelHeader('/**\n * struct mmu_notifier_ops (include/linux/mmu_notifier.h).\n */\n')).toBe(
      true,
    );
    expect(hasKernelHeader("import { a } from './a.ts';\n/** Models no kernel file: the engine. */\n")).toBe(
      true,
    );
    // A line comment is not a doc comment; a later doc comment does not count; nor do our own paths.
    expect(hasKernelHeader('// handle_mm_fault (mm/memory.c)\nexport const x = 1;\n')).toBe(false);
    expect(hasKernelHeader('/** -EFAULT. */\nconst a = 1;\n/** get_user_pages (mm/gup.c). */\n')).toBe(false);
    expect(hasKernelHeader('/** See src/fs/vfs.ts and sync/rcu.ts. */\n')).toBe(false);
    expect(hasKernelHeader('/** No header here. */\n')).toBe(false);
    // The header must start within the first 40 lines.
    const late = `${'const a = 1;\n'.repeat(HEADER_LINES)}/** walk_mm (mm/vmscan.c). */\n`;
    expect(hasKernelHeader(late)).toBe(false);
    expect(hasKernelHeader(late.split('\n').slice(1).join('\n'))).toBe(true);
  });
});
