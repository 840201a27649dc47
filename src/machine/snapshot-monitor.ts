// `monitor snapshot save FILE` (and `monitor snapshot info`) from gdb.
import { captureMachine } from './snapshot-state.js';
import { writeSnapshotFile } from './snapshot-file.js';
import type { Machine } from './machine.js';

/** Output of a snapshot monitor command, or undefined when `command` is not one. */
export function snapshotMonitor(m: Machine, command: string): string | undefined {
  const w = command.trim().split(/\s+/);
  if (w[0] !== 'snapshot') return undefined;
  if (w[1] === 'save' && w.length === 3) {
    try {
      const bytes = writeSnapshotFile(w[2]!, captureMachine(m));
      return `snapshot of ${m.instructions} instructions written to ${w[2]} (${bytes} bytes)`;
    } catch (e) {
      return `snapshot not written: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return 'usage: monitor snapshot save FILE';
}
