// The compiled package (package.json, tsconfig.build.json, bin/mmulab.js): built from this source
// into a scratch copy of the package, run as a user runs it, packed and installed elsewhere.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function runHere(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('the compiled package', () => {
  let scratch: string;
  let pkg: string;
  const node = (cwd: string, ...args: string[]) =>
    spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 30_000 });

  // A copy of what the package ships, with dist/ compiled from the current source (not the
  // worktree's dist/, which may predate an edit).
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'mmulab-package-'));
    pkg = join(scratch, 'mmulab');
    mkdirSync(pkg);
    for (const f of ['package.json', 'bin', 'profiles', 'references'])
      cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    // Compiled without type checking (tsc --noEmit checks), incrementally into a cache that
    // survives between runs, then copied: a rebuild only re-emits the files that changed.
    const cache = join(ROOT, 'node_modules', '.cache', 'mmulab-package-test');
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(
      process.execPath,
      [
        tsc,
        '-p',
        'tsconfig.build.json',
        '--noCheck',
        '--incremental',
        '--tsBuildInfoFile',
        join(cache, 'build.tsbuildinfo'),
        '--outDir',
        join(cache, 'dist'),
      ],
      { cwd: ROOT, stdio: 'pipe' },
    );
    cpSync(join(cache, 'dist'), join(pkg, 'dist'), { recursive: true });
  }, 60_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('runs bin/mmulab.js and prints what the source prints', () => {
    const help = node(scratch, join(pkg, 'bin', 'mmulab.js'), '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(runHere('--help').out);
    const run = node(scratch, join(pkg, 'bin', 'mmulab.js'), 'access-tracking', '-b', '4M');
    const here = runHere('access-tracking', '-b', '4M');
    expect(run.status).toBe(0);
    expect(here.code).toBe(0);
    expect(run.stdout).toBe(here.out);
    expect(run.stdout).toContain('Mark memory idle (page_idle)');
  });

  it('imports from plain node after npm pack and install of the tarball, from another directory', () => {
    const npm = (cwd: string, ...args: string[]) =>
      execFileSync('npm', [...args, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const packed = JSON.parse(npm(pkg, 'pack', '--json', '--pack-destination', scratch)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const files = packed[0].files.map((f) => f.path);
    expect(files).toContain('bin/mmulab.js');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('profiles/x86-tdp.json');
    expect(files).toContain('references/seed003.yaml');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const user = join(scratch, 'user');
    mkdirSync(user);
    writeFileSync(join(user, 'package.json'), '{ "name": "user", "private": true }\n');
    npm(user, 'install', '--prefer-offline', join(scratch, packed[0].filename));
    expect(existsSync(join(user, 'node_modules', 'mmulab', 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(user, 'node_modules', 'tsx'))).toBe(false);
    const imported = node(
      user,
      '-e',
      "import('mmulab').then((m) => console.log(typeof m.runAccessTracking, m.listProfiles().includes('x86-tdp')))",
    );
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toBe('function true\n');
    const bin = node(user, join(user, 'node_modules', '.bin', 'mmulab'), 'access-tracking', '-l', '-b', '4M');
    expect(bin.status).toBe(0);
    expect(bin.stdout).toBe(runHere('access-tracking', '-l', '-b', '4M').out);
  }, 30_000);
});
