// The boot file system a ramfs OSv kernel carries (scripts/mkbootfs.py packs it, fs/vfs/main.cc's
// unpack_bootfs() reads it): 128-byte records {u64 size, u64 offset, u8 type, char name[111]}
// ended by a record with an empty name, then the contents; offsets count from the first record.
// The blob sits in the kernel's .data under the hidden symbol bootfs_start, so a stripped kernel
// has no name for it: it is found by its shape. The first file's data starts right after the
// table, so record 0's offset is (records + 1) * 128 — a signature random bytes do not fake.

export interface BootfsFile {
  /** Guest path, e.g. "/tests/tst-hello.so"; directories end in "/". */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
}

const RECORD = 128;
const NAME_MAX = 111;
const SLASH = 0x2f;
const MAX_RECORDS = 1 << 20;

function u64(dv: DataView, at: number): number {
  const hi = dv.getUint32(at + 4, true);
  // Beyond 2^53 is no offset a kernel file holds: report it as unusable.
  return hi >= 0x200000 ? -1 : hi * 4294967296 + dv.getUint32(at, true);
}

/** The NUL-terminated printable name at `at`, or null. */
function nameAt(bytes: Uint8Array, at: number): string | null {
  let s = '';
  for (let k = 0; k < NAME_MAX; k++) {
    const c = bytes[at + k];
    if (c === 0) return s;
    if (c < 0x20 || c > 0x7e) return null;
    s += String.fromCharCode(c);
  }
  return null;
}

/** The records of a bootfs table starting at `start`, or null if it is not one. */
function tableAt(bytes: Uint8Array, dv: DataView, start: number): BootfsFile[] | null {
  const files: BootfsFile[] = [];
  let end = 0;
  for (let at = start; ; at += RECORD) {
    if (at + RECORD > bytes.length || files.length > MAX_RECORDS) return null;
    if (bytes[at + 17] === 0) {
      // The terminator is all zeros.
      for (let k = 0; k < RECORD; k++) if (bytes[at + k] !== 0) return null;
      break;
    }
    const size = u64(dv, at), offset = u64(dv, at + 8), type = bytes[at + 16];
    if (size < 0 || offset < 0 || (type !== 0 && type !== 1) || bytes[at + 17] !== SLASH) return null;
    const path = nameAt(bytes, at + 17);
    if (path === null) return null;
    if (files.length === 0 && offset !== 0) end = offset;
    // Contents follow the table in record order.
    if (offset < end) return null;
    end = offset + size;
    files.push({ path, type: type === 1 ? 'symlink' : path.endsWith('/') ? 'dir' : 'file', size });
  }
  if (files.length === 0) return null;
  const firstOffset = u64(dv, start + 8);
  if (firstOffset !== (files.length + 1) * RECORD || start + end > bytes.length) return null;
  return files;
}

/**
 * The files of the boot file system inside a kernel image (any offset, any alignment), or null
 * when the kernel carries none (an OSv kernel whose root is on a disk).
 */
export function findBootfs(kernel: Uint8Array): BootfsFile[] | null {
  const dv = new DataView(kernel.buffer, kernel.byteOffset, kernel.byteLength);
  const last = kernel.length - 2 * RECORD;
  for (let start = 0; start <= last; start++) {
    // Cheap tests first: '/' where record 0's name starts, a file type, a small offset.
    if (kernel[start + 17] !== SLASH || kernel[start + 16] > 1 || kernel[start + 15] !== 0) continue;
    if (kernel[start + 8] & 0x7f) continue;
    const files = tableAt(kernel, dv, start);
    if (files) return files;
  }
  return null;
}
