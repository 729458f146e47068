import { describe, expect, it } from 'vitest';
import { findGeneration, ParseError, parseMemcgStats, sumForGen } from './lru-gen-util.ts';

const FILE = `memcg     1 /
 node     0
          0      12000          5           7 
          1       9000          0           0 
memcg     2 /access_tracking_perf_test
 node     0
          3        500        100           0 
          4        200       2000           1 
          5          0          3           0 
memcg     3 /other
 node     0
          0          0          9           9 
`;

describe('lru_gen_util parser', () => {
  it('reads the named memcg section, node by node, and stops at the next memcg', () => {
    const s = parseMemcgStats(FILE, 'access_tracking_perf_test');
    expect(s.memcgId).toBe(2);
    expect(s.nodes).toEqual([
      {
        node: 0,
        gens: [
          { gen: 3, ageMs: 500, nrAnon: 100, nrFile: 0 },
          { gen: 4, ageMs: 200, nrAnon: 2000, nrFile: 1 },
          { gen: 5, ageMs: 0, nrAnon: 3, nrFile: 0 },
        ],
      },
    ]);
    expect(sumForGen(s, -1)).toBe(2104);
    expect(sumForGen(s, 4)).toBe(2001);
    expect(findGeneration(s, 1800)).toBe(4);
    expect(findGeneration(s, 5000)).toBe(-1);
  });

  it('fails like the selftest on a missing memcg or malformed lines', () => {
    expect(() => parseMemcgStats(FILE, 'nope')).toThrow(/Couldn't find memcg: nope/);
    expect(() => parseMemcgStats('memcg 2 /x\n node 0\n 1 2 3\n', 'x')).toThrow(/not enough tokens/);
    expect(() => parseMemcgStats('memcg 2 /x\nbogus\n', 'x')).toThrow(ParseError);
    expect(() => parseMemcgStats('memcg 2 /x\n node 0\n 1 2 x 4\n', 'x')).toThrow(
      /malformed anonymous page count 'x'/,
    );
    expect(() => parseMemcgStats('memcg 0 /x\n', 'x')).toThrow(/Couldn't find memcg/);
  });
});
