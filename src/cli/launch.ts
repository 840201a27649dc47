// Cold start of the `osvemu` command (issue 12). The build (src/cli/bundle.ts) bundles the CLI into one
// CommonJS file, main.bundle.cjs, and makes dist/src/cli/main.js a stub that calls launch(): one file instead
// of ~130 ES modules to resolve, read and link, and its V8 code cache (bytecode of every function the last run
// compiled, taken at exit) so that the next run skips parsing and compiling them. Node 20 has no
// module.enableCompileCache, and its ES module loader takes no cached data, hence vm.Script.
//
// The cache lives in $XDG_CACHE_HOME/osvemu (or ~/.cache/osvemu, else os.tmpdir()/osvemu-$UID), one file per
// bundle build (size and time), Node and V8 version and architecture; it is written once, to a temporary name then renamed
// (concurrent runs are safe), and any failure to read or write it only costs speed. V8 itself checks the
// data against the source and flags and rejects a mismatch. OSVEMU_CODE_CACHE=0 turns it off;
// OSVEMU_CODE_CACHE=verbose says on stderr what happened.
//
// The data holds only what the run that wrote it compiled: a first `osvemu help`, a usage error or an
// unreadable kernel would leave a cache without the emulator (half the size), and every later boot would
// compile the CPU, devices and board lazily again (~100 ms of main-thread CPU on the OSv hello). So a run
// that booted no guest to its end writes a partial cache (cli-TAG.partial.v8) that the first complete guest
// run (markCodeCacheComplete) replaces with cli-TAG.v8, which is then kept.
import { isAscii } from 'node:buffer';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { osvemuCacheDir } from '../cache-dir.js';
import { applyWasmFlags } from '../cpu/jit/wasm/v8-flags.js';

/** Where the code cache of the bundle build `buildTag` lives, or null when no folder can be named. */
export function codeCachePath(buildTag: string, partial = false): string | null {
  const tag = `${buildTag}-node${process.versions.node}-v8${process.versions.v8}-${process.arch}`.replace(/[^\w.-]/g, '_');
  return path.join(osvemuCacheDir(), 'code-cache', `cli-${tag}${partial ? '.partial' : ''}.v8`);
}

// A global, not module state: the bundle has its own copy of this module, the stub that calls launch() another.
const COMPLETE = Symbol.for('osvemu.codeCache.complete');

/** Says that this run booted a guest to its end: the code cache it leaves covers the emulator (see above). */
export function markCodeCacheComplete(): void {
  (globalThis as Record<symbol, unknown>)[COMPLETE] = true;
}

function runWasComplete(): boolean {
  return (globalThis as Record<symbol, unknown>)[COMPLETE] === true;
}

function readOrUndefined(file: string | null): Buffer | undefined {
  if (file === null) return undefined;
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function say(verbose: boolean, msg: string): void {
  if (verbose) process.stderr.write(`osvemu: code cache: ${msg}\n`);
}

/**
 * Runs the bundled CLI at `bundlePath` with its code cache; returns false (having run nothing) when the bundle
 * cannot be read, so that the caller falls back to the ES modules.
 */
export function launch(bundlePath: string): boolean {
  let source: string;
  try {
    // The build makes the bundle ASCII (bundle.ts): read as Latin-1 it needs no UTF-8 decoding.
    const bytes = readFileSync(bundlePath);
    source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  } catch {
    return false;
  }
  const mode = process.env.OSVEMU_CODE_CACHE ?? '';
  const useCache = mode !== '0';
  const verbose = mode === 'verbose';
  // The bundle's size and modification time name its build (hashing a megabyte would cost more than it saves);
  // V8 checks the source against the data anyway.
  let fullFile: string | null = null, partialFile: string | null = null;
  if (useCache) {
    try {
      const st = statSync(bundlePath);
      const tag = `${st.size.toString(36)}-${Math.round(st.mtimeMs).toString(36)}`;
      fullFile = codeCachePath(tag);
      partialFile = codeCachePath(tag, true);
    } catch {
      fullFile = null;
    }
  }
  let cachedData = readOrUndefined(fullFile);
  const usedFull = cachedData !== undefined;
  if (!usedFull) cachedData = readOrUndefined(partialFile);
  const cacheFile = usedFull ? fullFile : partialFile;
  // The flags the bundle sets when it loads, set first: V8 rejects a code cache made under other flags.
  applyWasmFlags();
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source.replace(/^#!.*/, '')}\n})`;
  const script = new vm.Script(wrapper, { filename: bundlePath, cachedData });
  const rejected = cachedData !== undefined && script.cachedDataRejected === true;
  if (cacheFile) say(verbose, cachedData === undefined ? `none yet (${fullFile})` : rejected ? `rejected (${cacheFile})` : `used (${cacheFile})`);
  if (fullFile && partialFile && (cachedData === undefined || rejected || !usedFull)) {
    // At exit the cache holds every function this run compiled, not just the top level.
    process.once('exit', () => {
      if (runWasComplete()) writeCache(script, fullFile, verbose, partialFile);
      else if (cachedData === undefined || rejected) writeCache(script, partialFile, verbose, usedFull ? fullFile : null);
    });
  }
  const mod = { exports: {} };
  const fn = script.runInThisContext() as (e: object, r: NodeRequire, m: object, f: string, d: string) => void;
  fn.call(mod.exports, mod.exports, createRequire(bundlePath), mod, bundlePath, path.dirname(bundlePath));
  return true;
}

/** Caches of other builds stay (worktrees, installs side by side), the most recent few of them. */
const KEEP_CACHES = 8;

function pruneOld(dir: string): void {
  try {
    const old = readdirSync(dir).filter((f) => /^cli-.*\.v8$/.test(f))
      .map((f) => ({ f, t: statSync(path.join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t).slice(KEEP_CACHES);
    for (const { f } of old) unlinkSync(path.join(dir, f));
  } catch {
    // another run pruned first, or the folder is not ours to clean
  }
}

/** Writes the cache to `file` (and drops the partial one it replaces, `supersedes`). */
function writeCache(script: vm.Script, file: string, verbose: boolean, supersedes: string | null): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, file);
    say(verbose, `written (${file})`);
    if (supersedes !== null) {
      try {
        unlinkSync(supersedes);
      } catch {
        // there was none, or another run dropped it first
      }
    }
    pruneOld(path.dirname(file));
  } catch (e) {
    say(verbose, `not written: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
