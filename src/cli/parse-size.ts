/**
 * parse_size of the KVM selftests: a whole number with an optional K, M, G or T suffix (any case),
 * in bytes. Returns NaN for anything else.
 */
export function parseSize(text: string): number {
  const m = /^(\d+)([kKmMgGtT]?)$/.exec(text.trim());
  if (m === null) return Number.NaN;
  const shift = { '': 0, k: 10, m: 20, g: 30, t: 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Number(m[1]) * 2 ** shift;
}
