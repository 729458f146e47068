/**
 * The kernel's character classes (lib/ctype.c, include/linux/ctype.h) on bytes. They differ from
 * C's locale classes: 0xA0 is a space, and bytes 0x80-0x9F are nothing.
 */

/** isspace: \t \n \v \f \r, space and 0xA0. */
export function isspace(c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === 0xa0;
}

/** isdigit: '0'-'9'. */
export function isdigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** isxdigit: '0'-'9', 'a'-'f', 'A'-'F'. */
export function isxdigit(c: number): boolean {
  return isdigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** _tolower: ORs in 0x20 (only meaningful for letters). */
export function lowerBit(c: number): number {
  return c | 0x20;
}

/** tolower: the kernel's upper-case letters ('A'-'Z' and Latin-1 0xC0-0xDE but 0xD7) made lower. */
export function tolower(c: number): number {
  const upper = (c >= 65 && c <= 90) || (c >= 0xc0 && c <= 0xde && c !== 0xd7);
  return upper ? c + 32 : c;
}
