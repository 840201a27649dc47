// Writing a machine's OSv trace buffers to files: the OSVT dump (and, on request, the Perfetto JSON)
// for `monitor osv trace save`, `osvemu trace SNAPSHOT FILE` and `osvemu run --trace-save`. Also
// reading any trace file back (an OSVT dump, or loader.py's format) for `osvemu trace list`.

import { readFileSync, writeFileSync } from 'node:fs';
import type { ElfFile } from '../machine/elf.js';
import type { DebugInfo } from './debug-info.js';
import { readGuestTrace, type ReadGuest } from './trace-buffers.js';
import { mergeByTime, TraceFormatError, type TraceDump, type TraceSample } from './trace-model.js';
import { isOsvt, parseLegacyTrace, parseOsvt, writeOsvt } from './trace-osvt.js';
import { perfettoJson } from './trace-perfetto.js';

export interface TraceFiles {
  /** OSVT dump to write. */
  osvt?: string;
  /** Chrome trace-event JSON to write. */
  perfetto?: string;
}

/** Cannot write an output file: one line naming it. */
export class TraceFileError extends Error {}

function write(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new TraceFileError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Writes the requested files for `dump`; returns the summary line. */
export function writeTraceFiles(dump: TraceDump, files: TraceFiles, note?: string): string {
  const n = dump.cpus.reduce((a, c) => a + c.length, 0);
  const parts: string[] = [];
  if (files.osvt !== undefined) {
    const bytes = writeOsvt(dump);
    write(files.osvt, bytes);
    parts.push(`${files.osvt} (${bytes.length} bytes)`);
  }
  if (files.perfetto !== undefined) {
    write(files.perfetto, perfettoJson(mergeByTime(dump.cpus)));
    parts.push(`Perfetto JSON ${files.perfetto}`);
  }
  const per = dump.cpus.map((c) => c.length).join('+');
  const line = `${n} trace samples (${per} on ${dump.cpus.length} CPU${dump.cpus.length === 1 ? '' : 's'}, ${dump.tracepoints.length} tracepoints) written to ${parts.join(' and ')}`;
  return note ? `${line}; ${note}` : line;
}

/** The ELF carrying the symbol table, when `di` is a DWARF reader that keeps its file. */
function elfOf(di: DebugInfo): ElfFile | undefined {
  return (di as { elf?: ElfFile }).elf;
}

/** Reads the guest's trace buffers and writes `files`. Throws TraceError / TraceFileError (one line). */
export function saveGuestTrace(di: DebugInfo, read: ReadGuest, files: TraceFiles): string {
  const r = readGuestTrace(di, read, elfOf(di));
  return writeTraceFiles(r.dump, files, r.note);
}

/** Samples of a trace file in trace.py's order; throws TraceFormatError (one line) for anything else. */
export function readTraceFile(path: string): { dump: TraceDump; samples: TraceSample[] } {
  let b: Uint8Array;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw new TraceFormatError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const dump = isOsvt(b) ? parseOsvt(b, path) : parseLegacyTrace(b, path);
  return { dump, samples: mergeByTime(dump.cpus) };
}
