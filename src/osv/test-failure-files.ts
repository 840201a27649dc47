// `osvemu test --on-fail snapshot,core`: for a test that did not pass, the machine as it ended, kept
// for a debugger. The worker writes the files while it still has the machine; a machine that cannot
// be saved (a snapshot refused, say, for a device whose state snapshots do not carry yet) costs one
// line in the report, never the run.
import path from 'node:path';
import type { Machine } from '../machine/machine.js';
import { writeSnapshotFile } from '../machine/snapshot-file.js';
import { captureMachine } from '../machine/snapshot-state.js';
import { writeCoreFile } from './core-file.js';
import { findSymbolsFile } from './debug-symbols.js';

export type FailureFileKind = 'snapshot' | 'core';

/** Where a test's files go; asked for by the main thread, written by the worker. */
export interface FailureFilePaths {
  snapshot?: string;
  core?: string;
}

/** What was written, and one line for each file that could not be. */
export interface FailureFiles extends FailureFilePaths {
  notes: string[];
}

/** A test's files in a log directory: its name, "/" made "_" (two tests may share a file name only by path). */
export function testFileBase(name: string): string {
  return name.replace(/^\/+/, '').replace(/\//g, '_');
}

/** The files of test `fileBase` (its log's name without ".log") in `dir`. */
export function failureFilePaths(dir: string, fileBase: string, kinds: readonly FailureFileKind[]): FailureFilePaths {
  const out: FailureFilePaths = {};
  if (kinds.includes('snapshot')) out.snapshot = path.join(dir, `${fileBase}.snap`);
  if (kinds.includes('core')) out.core = path.join(dir, `${fileBase}.core`);
  return out;
}

/** Worker side: writes what `want` asks for from the ended machine. */
export function writeFailureFiles(m: Machine, want: FailureFilePaths): FailureFiles {
  const out: FailureFiles = { notes: [] };
  const why = (e: unknown) => (e as Error).message.split('\n')[0];
  if (want.snapshot !== undefined) {
    try {
      writeSnapshotFile(want.snapshot, captureMachine(m));
      out.snapshot = want.snapshot;
    } catch (e) {
      out.notes.push(`no snapshot: ${why(e)}`);
    }
  }
  if (want.core !== undefined) {
    try {
      writeCoreFile(m, want.core);
      out.core = want.core;
    } catch (e) {
      out.notes.push(`no core file: ${why(e)}`);
    }
  }
  return out;
}

/**
 * The report's lines for a test's files: the command that opens the snapshot under gdb, the gdb
 * command for the core file, and why any file is missing.
 */
export function failureFileLines(files: FailureFiles | undefined, command: string, kernel: string, shellQuote: (s: string) => string): string[] {
  if (!files) return [];
  const lines: string[] = [];
  if (files.snapshot) lines.push(`${command} debug ${shellQuote(files.snapshot)}   (the machine as it ended; gdb: target remote :1234)`);
  if (files.core) lines.push(`gdb ${shellQuote(findSymbolsFile(kernel) ?? kernel)} ${shellQuote(files.core)}`);
  lines.push(...files.notes);
  return lines;
}
