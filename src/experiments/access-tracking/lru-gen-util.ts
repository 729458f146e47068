/** Models tools/testing/selftests/kvm/lib/lru_gen_util.c: the debugfs parser, lru_gen_sum_memcg_stats_for_gen, lru_gen_find_generation. */
/** One generation line: gen_nr age_in_ms nr_anon_pages nr_file_pages. */
export interface GenerationStats {
  gen: number;
  ageMs: number;
  nrAnon: number;
  nrFile: number;
}

/** struct memcg_stats of the selftest library: a memcg's generations per node. */
export interface MemcgStats {
  memcgId: number;
  nodes: Array<{ node: number; gens: GenerationStats[] }>;
}

/** MAX_NR_NODES and MAX_NR_GENS of lru_gen_util.h. */
const MAX_NR_NODES = 4;
const MAX_NR_GENS = 16;

/** A TEST_ASSERT of the parser. */
export class ParseError extends Error {}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new ParseError(msg);
}

/**
 * lru_gen_read_memcg_stats (tools/testing/selftests/kvm/lib/lru_gen_util.c): find the `memcg` line
 * whose path without its leading `/` is `name` (id 0 means removed: keep looking), then read `node`
 * lines and the generation lines under them until the next `memcg` line.
 */
export function parseMemcgStats(text: string, name: string): MemcgStats {
  const stats: MemcgStats = { memcgId: 0, nodes: [] };
  type State = 'searching' | 'inMemcg' | 'inNode' | 'done';
  let state: State = 'searching';
  for (const line of text.split('\n')) {
    const tok = line.split(/[ \t\r]+/).filter((s) => s !== '');
    let consumed = false;
    while (!consumed && state !== 'done') {
      if (state === 'searching') {
        consumed = true;
        if (tok[0] !== 'memcg') continue;
        assert(
          tok[1] !== undefined && tok[2] !== undefined,
          'malformed memcg line; no memcg id or memcg_name',
        );
        if (tok[2].slice(1) !== name) continue;
        assert(/^\d+$/.test(tok[1]), `malformed memcg id '${tok[1]}'`);
        stats.memcgId = Number(tok[1]);
        if (stats.memcgId !== 0) state = 'inMemcg';
      } else if (state === 'inMemcg') {
        consumed = true;
        if (tok.length === 0) continue;
        if (tok[0] === 'memcg') {
          state = 'done';
          continue;
        }
        assert(tok[0] === 'node', `found malformed line after 'memcg ...',token: '${tok[0]}'`);
        assert(tok[1] !== undefined, 'malformed node line; no node id');
        assert(/^-?\d+$/.test(tok[1]), `malformed node id '${tok[1]}'`);
        assert(
          stats.nodes.length < MAX_NR_NODES,
          `memcg has stats for too many nodes, max is ${MAX_NR_NODES}`,
        );
        stats.nodes.push({ node: Number(tok[1]), gens: [] });
        state = 'inNode';
      } else {
        if (tok.length === 0) {
          consumed = true;
          continue;
        }
        if (tok[0] === 'memcg' || tok[0] === 'node') {
          state = 'inMemcg';
          continue;
        }
        consumed = true;
        const node = stats.nodes[stats.nodes.length - 1];
        assert(node.gens.length < MAX_NR_GENS, `found too many generation lines; max is ${MAX_NR_GENS}`);
        assert(tok.length >= 4, 'malformed generation line; not enough tokens');
        const [gen, age, anon, file] = tok;
        for (const [v, what] of [
          [gen, 'generation number'],
          [age, 'generation age'],
          [anon, 'anonymous page count'],
          [file, 'file page count'],
        ] as const)
          assert(/^-?\d+$/.test(v), `malformed ${what} '${v}'`);
        node.gens.push({ gen: Number(gen), ageMs: Number(age), nrAnon: Number(anon), nrFile: Number(file) });
      }
    }
  }
  assert(stats.memcgId > 0, `Couldn't find memcg: ${name}\nDid the memcg get created in the proper mount?`);
  return stats;
}

/** lru_gen_sum_memcg_stats_for_gen: pages in generation `gen` over all nodes (all gens if < 0). */
export function sumForGen(stats: MemcgStats, gen: number): number {
  let total = 0;
  for (const n of stats.nodes)
    for (const g of n.gens) if (gen < 0 || g.gen === gen) total += g.nrAnon + g.nrFile;
  return total;
}

/** lru_gen_find_generation: the first generation, oldest first, holding more than `pages` pages. */
export function findGeneration(stats: MemcgStats, pages: number): number {
  let min = Number.POSITIVE_INFINITY;
  let max = -1;
  for (const n of stats.nodes)
    for (const g of n.gens) {
      if (g.gen > max) max = g.gen;
      if (g.gen < min) min = g.gen;
    }
  for (let gen = min; gen <= max; gen++) if (sumForGen(stats, gen) > pages) return gen;
  return -1;
}
