// Git's delta format (the body of OFS_DELTA and REF_DELTA pack entries): a new version of an
// object as copies from its base and inserted bytes. The writer makes deltas only between two
// versions of one folder, which differ in an entry or a few: one shared prefix, one shared
// suffix and the bytes between them, found with native compares, no index of the base. A
// 10,000-entry folder (~600 KB) changed in one entry becomes a delta of ~60 bytes.

function varint(n: number, out: number[]): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

// One copy instruction covers at most 0xffffff bytes (a size of 0 would mean 0x10000).
const MAX_COPY = 0xffffff;
const MAX_INSERT = 0x7f;
const CHUNK = 4096;

function copyOp(offset: number, size: number, out: number[]): void {
  while (size > 0) {
    const n = Math.min(size, MAX_COPY);
    const at = out.length;
    out.push(0x80);
    let op = 0x80;
    for (let i = 0; i < 4; i++) {
      const b = Math.floor(offset / 2 ** (8 * i)) & 0xff;
      if (b) { op |= 1 << i; out.push(b); }
    }
    for (let i = 0; i < 3; i++) {
      const b = (n >> (8 * i)) & 0xff;
      if (b) { op |= 0x10 << i; out.push(b); }
    }
    out[at] = op;
    offset += n;
    size -= n;
  }
}

/** Length of the common prefix of a and b (native compares a chunk at a time, then halving). */
function commonPrefix(a: Buffer, b: Buffer, max: number): number {
  let at = 0;
  while (at < max) {
    const end = Math.min(at + CHUNK, max);
    if (a.compare(b, at, end, at, end) !== 0) {
      let lo = at;
      let hi = end; // a[at, lo) equals, a[at, hi) differs
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (a.compare(b, lo, mid, lo, mid) === 0) lo = mid;
        else hi = mid;
      }
      return lo;
    }
    at = end;
  }
  return max;
}

/** Length of the common suffix of a and b, at most max bytes. */
function commonSuffix(a: Buffer, b: Buffer, max: number): number {
  let n = 0;
  while (n < max) {
    const len = Math.min(CHUNK, max - n);
    const aEnd = a.length - n;
    const bEnd = b.length - n;
    if (a.compare(b, bEnd - len, bEnd, aEnd - len, aEnd) !== 0) {
      let lo = 0;
      let hi = len; // the last lo bytes before the chunk end are equal, the last hi are not
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (a.compare(b, bEnd - mid, bEnd - lo, aEnd - mid, aEnd - lo) === 0) lo = mid;
        else hi = mid;
      }
      return n + lo;
    }
    n += len;
  }
  return max;
}

/** A delta that turns base into target. */
export function encodeDelta(base: Uint8Array, target: Uint8Array): Buffer {
  const a = Buffer.from(base.buffer, base.byteOffset, base.byteLength);
  const b = Buffer.from(target.buffer, target.byteOffset, target.byteLength);
  const prefix = commonPrefix(a, b, Math.min(a.length, b.length));
  const suffix = commonSuffix(a, b, Math.min(a.length, b.length) - prefix);
  const out: number[] = [];
  varint(a.length, out);
  varint(b.length, out);
  copyOp(0, prefix, out);
  const middleEnd = b.length - suffix;
  for (let at = prefix; at < middleEnd; at += MAX_INSERT) {
    const n = Math.min(MAX_INSERT, middleEnd - at);
    out.push(n);
    for (let i = 0; i < n; i++) out.push(b[at + i]!);
  }
  copyOp(a.length - suffix, suffix, out);
  return Buffer.from(out);
}

/** Applies a git delta to its base. */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Buffer {
  const src = Buffer.from(base.buffer, base.byteOffset, base.byteLength);
  let at = 0;
  const read = (): number => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const srcSize = read();
  if (srcSize !== src.length) throw new Error('corrupt delta: base size mismatch');
  const out = Buffer.allocUnsafe(read());
  let o = 0;
  while (at < delta.length) {
    const op = delta[at++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) offset += delta[at++]! * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) size += delta[at++]! << (8 * i);
      if (size === 0) size = 0x10000;
      if (offset + size > src.length) throw new Error('corrupt delta: copy beyond the base');
      o += src.copy(out, o, offset, offset + size);
    } else if (op > 0) {
      if (at + op > delta.length) throw new Error('corrupt delta: insert beyond the delta');
      out.set(delta.subarray(at, at + op), o);
      o += op;
      at += op;
    } else {
      throw new Error('corrupt delta: opcode 0');
    }
  }
  if (o !== out.length) throw new Error('corrupt delta: result size mismatch');
  return out;
}
