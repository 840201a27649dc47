// Which tests a run has: from a list file, from OSv's usr.manifest, or from the image's own file
// system (the ramfs kernel's bootfs, or the rofs root on the disk), narrowed by --filter,
// --exclude and --shard. Sorted by name as test.py runs them, so a shard and a report are the
// same on every machine.
import { readFileSync } from 'node:fs';
import { findBootfs } from './bootfs.js';
import { DiskImageError, listDiskFiles } from './disk-image.js';
import { ManifestError, manifestGuestPaths } from './manifest.js';
import { seedFor, testCommandLine } from './test-outcome.js';

export interface OsvTest {
  /** As test.py names it: the file name, e.g. "tst-hello.so" (the guest path if two share one). */
  name: string;
  /** Guest path, e.g. "/tests/tst-hello.so". */
  path: string;
  /** The kernel command line the test runs with. */
  cmdline: string;
  seed: number;
  /** Why the test is not run (disabled as in test.py, or --exclude), if it is not. */
  skip?: string;
}

export interface TestSelection {
  /** Kernel ELF path. */
  kernel: string;
  /** The kernel's bytes, if already read. */
  kernelBytes?: Uint8Array;
  /** Disk image whose rofs file system is the guest's root. */
  disk?: string;
  /** Guest paths (or names: "tst-x.so" means "/tests/tst-x.so"). */
  tests?: string[];
  /** A file of guest paths, one a line ("#" comments). */
  testsFile?: string;
  /** OSv's usr.manifest: its /tests/tst-* entries. */
  manifest?: string;
  /** Keeps tests whose name matches (unanchored; "^tst-vfs\\.so$" for one). */
  filter?: RegExp | string;
  /** Names or paths not to run (reported as skipped). */
  exclude?: string[];
  /** A file of names or paths not to run. */
  excludeFile?: string;
  /** "I/N" (1-based) or {index, count}: every N-th test of the sorted list from the I-th. */
  shard?: string | { index: number; count: number };
}

export interface TestPlan {
  tests: OsvTest[];
  /** Where the list came from, for reports. */
  source: string;
  /** The image's files, when they could be read. */
  imageFiles: Set<string> | null;
  kernelBytes: Uint8Array;
}

/** Bad input: one line per problem. */
export class OsvTestError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'OsvTestError';
  }
}

/** test.py's disabled_list on a host without KVM (osvemu, like QEMU TCG). */
export const TEST_PY_DISABLED: readonly string[] = ['tst-dns-resolver.so', 'tst-feexcept.so'];

const IS_TEST = /^\/tests\/tst-/;
const IMAGE_TEST = /^\/tests\/tst-[^/]*\.so$/;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new OsvTestError([`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
}

/** Non-empty, non-comment lines. */
function listLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

function guestPath(entry: string): string {
  return entry.startsWith('/') ? entry : `/tests/${entry}`;
}

export function parseShard(shard: string | { index: number; count: number }): { index: number; count: number } {
  const s = typeof shard === 'string' ? /^(\d+)\/(\d+)$/.exec(shard.trim()) : null;
  const index = typeof shard === 'string' ? (s ? Number(s[1]) : NaN) : shard.index;
  const count = typeof shard === 'string' ? (s ? Number(s[2]) : NaN) : shard.count;
  if (!Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 1 || index > count) {
    throw new OsvTestError([`bad shard "${typeof shard === 'string' ? shard : `${shard.index}/${shard.count}`}": use I/N with 1 <= I <= N`]);
  }
  return { index, count };
}

/** The shard's part of a sorted list: items index-1, index-1+count, ... */
export function shardOf<T>(items: readonly T[], shard: { index: number; count: number }): T[] {
  return items.filter((_, k) => k % shard.count === shard.index - 1);
}

/** The image's file paths: the disk's rofs when a disk is given, else the kernel's bootfs. */
function imageFiles(sel: TestSelection, kernel: Uint8Array): { files: Set<string> | null; where: string; problem?: string; unreadable?: boolean } {
  if (sel.disk !== undefined) {
    try {
      return { files: new Set(listDiskFiles(sel.disk).map((e) => e.path)), where: sel.disk };
    } catch (e) {
      if (e instanceof DiskImageError) return { files: null, where: sel.disk, problem: e.message, unreadable: e.unreadable };
      throw e;
    }
  }
  const bootfs = findBootfs(kernel);
  return bootfs
    ? { files: new Set(bootfs.map((f) => f.path)), where: `${sel.kernel} (boot file system)` }
    : { files: null, where: sel.kernel, problem: `${sel.kernel} has no boot file system (a kernel whose root is on a disk needs --disk)` };
}

export function readKernel(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new OsvTestError([`cannot read kernel ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
}

/** The tests to run, in order, or an OsvTestError with one line per problem. */
export function planOsvTests(sel: TestSelection): TestPlan {
  const kernelBytes = sel.kernelBytes ?? readKernel(sel.kernel);
  const image = imageFiles(sel, kernelBytes);
  // A disk that cannot be read is an error even when the list comes from elsewhere.
  if (image.unreadable) throw new OsvTestError([image.problem!]);

  const explicit = sel.tests !== undefined || sel.testsFile !== undefined;
  let paths: string[];
  let source: string;
  if (sel.tests !== undefined) {
    paths = sel.tests.map(guestPath);
    source = 'the given list';
  } else if (sel.testsFile !== undefined) {
    paths = listLines(readText(sel.testsFile, 'test list')).map(guestPath);
    source = sel.testsFile;
  } else if (sel.manifest !== undefined) {
    try {
      paths = manifestGuestPaths(readText(sel.manifest, 'manifest'), sel.manifest).filter((p) => IS_TEST.test(p));
    } catch (e) {
      if (e instanceof ManifestError) throw new OsvTestError([`unreadable manifest ${e.message}`]);
      throw e;
    }
    source = sel.manifest;
  } else {
    if (!image.files) {
      throw new OsvTestError([sel.disk !== undefined ? image.problem! : `no tests: give --tests FILE or --manifest usr.manifest (${image.problem})`]);
    }
    paths = [...image.files].filter((p) => IMAGE_TEST.test(p));
    source = image.where;
    if (paths.length === 0) {
      const hint = sel.disk === undefined ? ' (is the root file system on a disk? give --disk)' : '';
      throw new OsvTestError([`no /tests/tst-*.so in ${image.where}${hint}`]);
    }
  }

  if (image.files) {
    const missing = [...new Set(paths)].filter((p) => !image.files!.has(p));
    if (missing.length) throw new OsvTestError(missing.map((p) => `${p} is not in the image ${image.where}`));
  }

  const unique = [...new Set(paths)];
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const counts = new Map<string, number>();
  for (const p of unique) counts.set(base(p), (counts.get(base(p)) ?? 0) + 1);
  let tests: OsvTest[] = unique.map((path) => ({
    name: counts.get(base(path))! > 1 ? path : base(path),
    path,
    cmdline: testCommandLine(path),
    seed: seedFor(path),
  }));
  tests.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const excluded = new Set([...(sel.exclude ?? []), ...(sel.excludeFile ? listLines(readText(sel.excludeFile, 'exclude list')) : [])]);
  for (const t of tests) {
    if (excluded.has(t.name) || excluded.has(t.path) || excluded.has(base(t.path))) t.skip = 'excluded';
    else if (!explicit && TEST_PY_DISABLED.includes(base(t.path))) t.skip = "disabled in OSv's test.py";
  }
  if (sel.filter !== undefined) {
    let re: RegExp;
    try {
      // Without g/y: test() must not carry lastIndex from one name to the next.
      re = typeof sel.filter === 'string' ? new RegExp(sel.filter) : new RegExp(sel.filter.source, sel.filter.flags.replace(/[gy]/g, ''));
    } catch (e) {
      throw new OsvTestError([`bad --filter: ${(e as Error).message}`]);
    }
    tests = tests.filter((t) => re.test(t.name));
    if (tests.length === 0) throw new OsvTestError([`no test matches --filter ${re.source}`]);
  }
  if (sel.shard !== undefined) tests = shardOf(tests, parseShard(sel.shard));
  return { tests, source, imageFiles: image.files, kernelBytes };
}
