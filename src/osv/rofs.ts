// OSv's read-only file system (fs/rofs/rofs.hh; written by scripts/gen-rofs-img.py), read-only
// listing. Layout in 512-byte blocks from the partition start:
//   block 0      super block: u64 magic 0xDEADBEAD, version 1, block_size,
//                structure_info_first_block, structure_info_blocks_count,
//                directory_entries_count, symlinks_count, inodes_count
//   blocks 1..   file contents, each file padded to a whole block
//   structure    directory entries {u64 inode_no, u16 length, name bytes}, then symlinks
//                {u16 length, path bytes}, then inodes {u64 mode, inode_no, data_offset, count}
// An inode's data_offset/count are: for a file its first block and size in bytes; for a
// directory the index of its first entry and how many; for a symlink its symlink index and 1.
// The root directory is inode 1.

export const ROFS_MAGIC = 0xdeadbead;
const SUPER_BLOCK_SIZE = 64;
const INODE_SIZE = 32;
const S_IFMT = 0xf000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xa000;
const MAX_DEPTH = 64;

/** Random access to an image's bytes (disk-image.ts: a raw or qcow2 file). */
export interface ByteSource {
  readonly size: number;
  /** Bytes at [offset, offset + length); fewer only past the end. */
  read(offset: number, length: number): Uint8Array;
}

export interface RofsEntry {
  /** Absolute guest path; directories end in "/". */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Bytes for a file, entries for a directory, 0 for a symlink. */
  size: number;
  /** Symlink target. */
  target?: string;
}

export class RofsError extends Error {}

function u64(dv: DataView, at: number): number {
  return dv.getUint32(at + 4, true) * 4294967296 + dv.getUint32(at, true);
}

/** True when a rofs super block starts at `base`. */
export function isRofs(src: ByteSource, base: number): boolean {
  const b = src.read(base, 16);
  if (b.length < 16) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return u64(dv, 0) === ROFS_MAGIC && u64(dv, 8) === 1;
}

/** Every entry of the rofs file system at byte `base` of `src`, parents before children. */
export function readRofs(src: ByteSource, base = 0): RofsEntry[] {
  const sbBytes = src.read(base, SUPER_BLOCK_SIZE);
  if (sbBytes.length < SUPER_BLOCK_SIZE) throw new RofsError('too short for a rofs super block');
  const sb = new DataView(sbBytes.buffer, sbBytes.byteOffset, sbBytes.byteLength);
  if (u64(sb, 0) !== ROFS_MAGIC) throw new RofsError('no rofs magic (0xDEADBEAD) in the super block');
  const version = u64(sb, 8);
  if (version !== 1) throw new RofsError(`rofs version ${version}, expected 1`);
  const blockSize = u64(sb, 16), firstBlock = u64(sb, 24), blocks = u64(sb, 32);
  const direntCount = u64(sb, 40), symlinkCount = u64(sb, 48), inodeCount = u64(sb, 56);
  if (blockSize < 512 || blockSize > 65536 || (blockSize & (blockSize - 1))) throw new RofsError(`bad rofs block size ${blockSize}`);
  const start = base + firstBlock * blockSize, length = blocks * blockSize;
  if (firstBlock === 0 || start + length > src.size || length > 1 << 30) {
    throw new RofsError(`rofs structure blocks ${firstBlock}+${blocks} lie outside the image`);
  }
  const table = src.read(start, length);
  const dv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const text = new TextDecoder('utf-8');
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > table.length) throw new RofsError(`rofs ${what} run past the structure blocks`);
  };

  const dirents: { name: string; inode: number }[] = [];
  for (let k = 0; k < direntCount; k++) {
    need(10, 'directory entries');
    const inode = u64(dv, at), len = dv.getUint16(at + 8, true);
    at += 10;
    need(len, 'directory entries');
    dirents.push({ name: text.decode(table.subarray(at, at + len)), inode });
    at += len;
  }
  const symlinks: string[] = [];
  for (let k = 0; k < symlinkCount; k++) {
    need(2, 'symlinks');
    const len = dv.getUint16(at, true);
    at += 2;
    need(len, 'symlinks');
    symlinks.push(text.decode(table.subarray(at, at + len)));
    at += len;
  }
  need(inodeCount * INODE_SIZE, 'inodes');
  const inodeAt = (no: number) => {
    if (no < 1 || no > inodeCount) throw new RofsError(`rofs inode ${no} out of range 1..${inodeCount}`);
    const o = at + (no - 1) * INODE_SIZE;
    return { mode: dv.getUint32(o, true), offset: u64(dv, o + 16), count: u64(dv, o + 24) };
  };

  const out: RofsEntry[] = [];
  const walk = (dirInode: number, dirPath: string, depth: number) => {
    if (depth > MAX_DEPTH) throw new RofsError(`rofs directories nest deeper than ${MAX_DEPTH} (a loop?)`);
    const dir = inodeAt(dirInode);
    if (dir.offset + dir.count > dirents.length) throw new RofsError(`rofs directory ${dirPath} lists entries past the table`);
    for (let k = dir.offset; k < dir.offset + dir.count; k++) {
      const e = dirents[k];
      const ino = inodeAt(e.inode);
      const path = dirPath + e.name;
      switch (ino.mode & S_IFMT) {
        case S_IFDIR:
          out.push({ path: `${path}/`, type: 'dir', size: ino.count });
          walk(e.inode, `${path}/`, depth + 1);
          break;
        case S_IFLNK:
          if (ino.offset >= symlinks.length) throw new RofsError(`rofs symlink ${path} points past the symlink table`);
          out.push({ path, type: 'symlink', size: 0, target: symlinks[ino.offset] });
          break;
        case S_IFREG:
          out.push({ path, type: 'file', size: ino.count });
          break;
        default:
          throw new RofsError(`rofs inode ${e.inode} (${path}) has unknown mode 0x${ino.mode.toString(16)}`);
      }
    }
  };
  walk(1, '/', 0);
  return out;
}
