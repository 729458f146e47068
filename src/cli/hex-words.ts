/** Models no kernel file: CLI: binary kernel files shown as 64-bit hex words. */

/** True if `data` is text a terminal can show (UTF-8 without control characters but tab and newline). */
export function isText(data: Uint8Array): boolean {
  for (const b of data) if ((b < 0x20 && b !== 0x09 && b !== 0x0a) || b === 0x7f) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}

/**
 * `data` as lines of its byte offset and four 64-bit words in hex (the little-endian u64 words
 * page_idle/bitmap is made of, bit N of a word being pfn 64 x word + N); runs of identical lines
 * collapse to `*`, as hexdump does.
 */
export function formatHexWords(data: Uint8Array): string {
  const lines: string[] = [];
  let last = '';
  let starred = false;
  for (let off = 0; off < data.length; off += 32) {
    const words: string[] = [];
    for (let w = off; w < Math.min(off + 32, data.length); w += 8) {
      let hex = '';
      for (let b = Math.min(w + 8, data.length) - 1; b >= w; b--)
        hex += data[b].toString(16).padStart(2, '0');
      words.push(hex.padStart(16, '0'));
    }
    const body = words.join(' ');
    if (body === last && off + 32 < data.length) {
      if (!starred) lines.push('*');
      starred = true;
      continue;
    }
    lines.push(`${off.toString(16).padStart(8, '0')}: ${body}`);
    last = body;
    starred = false;
  }
  lines.push(data.length.toString(16).padStart(8, '0'));
  return `${lines.join('\n')}\n`;
}
