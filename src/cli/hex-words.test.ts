import { describe, expect, it } from 'vitest';
import { formatHexWords, isText } from './hex-words.ts';

describe('hex words', () => {
  it('prints little-endian u64 words, four a line, and stars repeated lines', () => {
    const data = new Uint8Array(136);
    data[0] = 0x01; // pfn 0 of word 0
    data[15] = 0x80; // pfn 63 of word 1
    expect(formatHexWords(data)).toBe(
      [
        '00000000: 0000000000000001 8000000000000000 0000000000000000 0000000000000000',
        '00000020: 0000000000000000 0000000000000000 0000000000000000 0000000000000000',
        '*',
        '00000080: 0000000000000000',
        '00000088',
        '',
      ].join('\n'),
    );
  });

  it('tells text from binary', () => {
    expect(isText(new TextEncoder().encode('memcg 1 /\n\tnode 0\n'))).toBe(true);
    expect(isText(new Uint8Array([0x41, 0x00]))).toBe(false);
    expect(isText(new Uint8Array([0xff, 0xfe]))).toBe(false);
  });
});
