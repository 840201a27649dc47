// Writers for OSv's two image file systems, for tests of the readers: a bootfs blob (the layout
// scripts/mkbootfs.py packs into a ramfs kernel) and a rofs image (the layout of
// scripts/gen-rofs-img.py, same allocation order: inodes depth-first, a directory's entries
// after its subdirectories', contents in 512-byte blocks after the super block).

export type FsTree = Record<string, Uint8Array | string | { symlink: string }>;

const enc = new TextEncoder();
const bytesOf = (c: Uint8Array | string) => (typeof c === 'string' ? enc.encode(c) : c);

/** A bootfs blob: one record per path in the given order (directories end in "/"). */
export function packBootfs(files: FsTree): Uint8Array {
  const names = Object.keys(files);
  const contents = names.map((n) => {
    const c = files[n];
    if (typeof c === 'object' && 'symlink' in c) return enc.encode(`${c.symlink}\0`);
    return n.endsWith('/') ? new Uint8Array(0) : bytesOf(c as Uint8Array | string);
  });
  const tableSize = (names.length + 1) * 128;
  const out = new Uint8Array(tableSize + contents.reduce((a, c) => a + c.length, 0));
  const dv = new DataView(out.buffer);
  let pos = tableSize;
  names.forEach((name, k) => {
    const c = files[name];
    dv.setUint32(k * 128, contents[k].length, true);
    dv.setUint32(k * 128 + 8, pos, true);
    out[k * 128 + 16] = typeof c === 'object' && 'symlink' in c ? 1 : 0;
    out.set(enc.encode(name), k * 128 + 17);
    out.set(contents[k], pos);
    pos += contents[k].length;
  });
  return out;
}

type Dir = Map<string, Dir | Uint8Array | { symlink: string }>;

/** A rofs image of the given files ("/tests/tst-a.so": contents, "/dir/": ""; parents are made as needed). */
export function makeRofs(files: FsTree): Uint8Array {
  const root: Dir = new Map();
  for (const [path, c] of Object.entries(files)) {
    const parts = path.split('/').filter((p) => p !== '');
    const isDir = path.endsWith('/');
    let d = root;
    for (const p of isDir ? parts : parts.slice(0, -1)) {
      if (!d.has(p)) d.set(p, new Map());
      d = d.get(p) as Dir;
    }
    if (isDir) continue;
    d.set(parts[parts.length - 1], typeof c === 'object' && 'symlink' in c ? c : bytesOf(c as Uint8Array | string));
  }
  const data: Uint8Array[] = [new Uint8Array(512)];
  let block = 1;
  const inodes: { mode: number; no: number; offset: number; count: number }[] = [];
  const dirents: { name: string; no: number }[] = [];
  const symlinks: string[] = [];
  const inode = (mode: number) => {
    const i = { mode, no: inodes.length + 1, offset: 0, count: 0 };
    inodes.push(i);
    return i;
  };
  const writeDir = (dir: Dir): { count: number; index: number } => {
    const mine: { name: string; no: number }[] = [];
    for (const [name, v] of dir) {
      if (v instanceof Map) {
        const i = inode(0x4000);
        mine.push({ name, no: i.no });
        const r = writeDir(v);
        i.count = r.count;
        i.offset = r.index;
      } else if (v instanceof Uint8Array) {
        const i = inode(0x8000);
        mine.push({ name, no: i.no });
        i.offset = block;
        i.count = v.length;
        const padded = new Uint8Array(Math.ceil(v.length / 512) * 512);
        padded.set(v);
        data.push(padded);
        block += padded.length / 512;
      } else {
        const i = inode(0xa000);
        mine.push({ name, no: i.no });
        i.offset = symlinks.length;
        i.count = 1;
        symlinks.push(v.symlink);
      }
    }
    const index = dirents.length;
    dirents.push(...mine);
    return { count: mine.length, index };
  };
  const rootInode = inode(0x4000);
  const r = writeDir(root);
  rootInode.count = r.count;
  rootInode.offset = r.index;

  const structure: number[] = [];
  const u16 = (v: number) => structure.push(v & 0xff, v >>> 8);
  const u64 = (v: number) => {
    for (let k = 0; k < 8; k++) structure.push(k < 4 ? (v >>> (8 * k)) & 0xff : k === 4 ? Math.floor(v / 2 ** 32) & 0xff : 0);
  };
  for (const d of dirents) {
    u64(d.no);
    u16(d.name.length);
    structure.push(...enc.encode(d.name));
  }
  for (const s of symlinks) {
    u16(s.length);
    structure.push(...enc.encode(s));
  }
  for (const i of inodes) {
    u64(i.mode);
    u64(i.no);
    u64(i.offset);
    u64(i.count);
  }
  const structBlocks = Math.ceil(structure.length / 512);
  const out = new Uint8Array((block + structBlocks) * 512);
  let at = 0;
  for (const d of data) {
    out.set(d, at);
    at += d.length;
  }
  out.set(structure, block * 512);
  const sb = new DataView(out.buffer);
  const fields = [0xdeadbead, 1, 512, block, structBlocks, dirents.length, symlinks.length, inodes.length];
  fields.forEach((v, k) => sb.setUint32(k * 8, v, true));
  return out;
}

/** A disk: an MBR with one partition (table slot `slot`, 1-based) at `offset` holding `fs`. */
export function mbrDisk(fs: Uint8Array, offset: number, slot = 2): Uint8Array {
  const out = new Uint8Array(offset + fs.length);
  const e = 0x1be + (slot - 1) * 16;
  const dv = new DataView(out.buffer);
  out[e + 4] = 0x83;
  dv.setUint32(e + 8, offset / 512, true);
  dv.setUint32(e + 12, Math.ceil(fs.length / 512), true);
  out[510] = 0x55;
  out[511] = 0xaa;
  out.set(fs, offset);
  return out;
}
