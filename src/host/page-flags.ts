/**
 * Folio/page flags kept per frame (a subset of include/linux/page-flags.h; bit positions are ours).
 */
export const PG_LRU = 1 << 0;
export const PG_IDLE = 1 << 1;
export const PG_YOUNG = 1 << 2;
export const PG_REFERENCED = 1 << 3;
export const PG_DIRTY = 1 << 5;
export const PG_SWAPBACKED = 1 << 6;
/** First page of a large folio (THP, hugetlb). */
export const PG_HEAD = 1 << 7;
/** Non-first page of a large folio. */
export const PG_TAIL = 1 << 8;
/** Not ordinary memory: the zero page, holes below the first node. */
export const PG_RESERVED = 1 << 9;
export const PG_HUGETLB = 1 << 10;
/** Frame handed out by the page allocator (not on a free list). */
export const PG_ALLOCATED = 1 << 11;
/** Folio should be added hot (MGLRU: "add as hot"); never set while on an MGLRU list. */
export const PG_ACTIVE = 1 << 4;
/** Folio was found in use again after being evicted or promoted (workingset). */
export const PG_WORKINGSET = 1 << 12;
