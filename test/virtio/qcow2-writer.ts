// Writes small qcow2 images from a test, so the suite needs no qemu-img: version 2 or 3, any
// cluster size, clusters stored plain, deflate-compressed, as v3 zero clusters, or left
// unallocated (reading as zeros or from a backing file), with valid 16-bit refcounts.
import { writeFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';

export type ClusterKind = 'data' | 'compressed' | 'zero' | 'unallocated';

export interface Qcow2Spec {
  content: Uint8Array;
  clusterBits?: number;
  version?: 2 | 3;
  /** How each cluster is stored (default 'data'); `content` of unallocated/zero clusters is ignored. */
  kind?: (cluster: number) => ClusterKind;
  backingFile?: string;
}

export function buildQcow2(spec: Qcow2Spec): Uint8Array {
  const cb = spec.clusterBits ?? 12;
  const cs = 2 ** cb;
  const version = spec.version ?? 3;
  const size = spec.content.length;
  const nClusters = Math.ceil(size / cs);
  const l2Entries = cs / 8;
  const l1Size = Math.ceil(nClusters / l2Entries);
  // Layout: header | L1 | refcount table | refcount block | L2 tables | data.
  const l1Off = cs, rtOff = 2 * cs, rbOff = 3 * cs, l2Off = 4 * cs;
  let next = l2Off + l1Size * cs;
  const chunks: [number, Uint8Array][] = [];
  const l1 = new DataView(new ArrayBuffer(8 * l1Size));
  const l2 = new DataView(new ArrayBuffer(l1Size * cs));
  for (let t = 0; t < l1Size; t++) {
    l1.setUint32(8 * t, 0x80000000);
    l1.setUint32(8 * t + 4, l2Off + t * cs);
  }
  for (let c = 0; c < nClusters; c++) {
    const kind = spec.kind?.(c) ?? 'data';
    const data = new Uint8Array(cs);
    data.set(spec.content.subarray(c * cs, Math.min(size, (c + 1) * cs)));
    const e = 8 * c;
    if (kind === 'data') {
      chunks.push([next, data]);
      l2.setUint32(e, 0x80000000 + Math.floor(next / 2 ** 32));
      l2.setUint32(e + 4, next % 2 ** 32);
      next += cs;
    } else if (kind === 'compressed') {
      const z = deflateRawSync(data);
      const x = 70 - cb;
      const sectors = Math.ceil(z.length / 512) - 1;
      chunks.push([next, z]);
      // hi word: compressed flag, sector count at bit x - 32, offset high bits below.
      l2.setUint32(e, (0x40000000 | (sectors << (x - 32)) | Math.floor(next / 2 ** 32)) >>> 0);
      l2.setUint32(e + 4, next % 2 ** 32);
      next += Math.ceil(z.length / cs) * cs;
    } else if (kind === 'zero') {
      if (version !== 3) throw new Error('zero clusters need version 3');
      l2.setUint32(e + 4, 1);
    }
  }
  const fileSize = next;
  // Refcounts: every cluster of the file up to `next` is used once (compressed data own whole clusters).
  const perBlock = cs / 2;
  if (fileSize / cs > perBlock) throw new Error('test image too large for one refcount block');
  const rb = new DataView(new ArrayBuffer(cs));
  for (let c = 0; c < fileSize / cs; c++) rb.setUint16(2 * c, 1);
  const rt = new DataView(new ArrayBuffer(cs));
  rt.setUint32(4, rbOff);

  const out = new Uint8Array(fileSize);
  const h = new DataView(out.buffer);
  h.setUint32(0, 0x514649fb);
  h.setUint32(4, version);
  const backing = spec.backingFile ? new TextEncoder().encode(spec.backingFile) : null;
  const headerLen = version === 3 ? 104 : 72;
  if (backing) {
    h.setUint32(12, headerLen + 8); // after the header and an end-of-extensions marker
    h.setUint32(16, backing.length);
    out.set(backing, headerLen + 8);
  }
  h.setUint32(20, cb);
  h.setUint32(24, Math.floor(size / 2 ** 32));
  h.setUint32(28, size % 2 ** 32);
  h.setUint32(36, l1Size);
  h.setUint32(44, l1Off);
  h.setUint32(52, rtOff);
  h.setUint32(56, 1);
  if (version === 3) {
    h.setUint32(96, 4);
    h.setUint32(100, 104);
  }
  out.set(new Uint8Array(l1.buffer), l1Off);
  out.set(new Uint8Array(rt.buffer), rtOff);
  out.set(new Uint8Array(rb.buffer), rbOff);
  out.set(new Uint8Array(l2.buffer), l2Off);
  for (const [at, bytes] of chunks) out.set(bytes, at);
  return out;
}

export function writeQcow2(path: string, spec: Qcow2Spec): void {
  writeFileSync(path, buildQcow2(spec));
}

/** Deterministic bytes that compress well in some places and not in others. */
export function testContent(size: number, seed = 1): Uint8Array {
  const b = new Uint8Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    if ((i >> 12) % 3 === 0) b[i] = (i >> 4) & 0xff; // compressible runs
    else {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      b[i] = s & 0xff;
    }
  }
  return b;
}
