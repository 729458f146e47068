/** Models no kernel file: CLI: `mmulab profiles` and the profile JSON Schema. */
import type { Command } from 'commander';
import { z } from 'zod';
import { describeProfiles, profileFileSchema } from '../sim/profile.ts';
import type { CliIo } from './cli-io.ts';

/** The JSON Schema of a profile file, as profiles/profile.schema.json holds it. */
export function profileJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(profileFileSchema, { io: 'input' }), null, 2)}\n`;
}

/** `mmulab profiles [--schema]`: one line per shipped profile, or the profile file's JSON Schema. */
export function profilesCommand(program: Command, io: CliIo, onExit: (code: number) => void): void {
  program
    .command('profiles')
    .description(
      'list the shipped cost profiles (--profile NAME), or print the JSON Schema of a profile file',
    )
    .option('--schema', 'print the JSON Schema a profile file must follow (profiles/profile.schema.json)')
    .action((opts) => {
      if (opts.schema) io.out(profileJsonSchema());
      else {
        const all = describeProfiles();
        const width = Math.max(...all.map((p) => p.name.length));
        for (const p of all) io.out(`${p.name.padEnd(width)}  ${p.description}\n`);
      }
      onExit(0);
    });
}
