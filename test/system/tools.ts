// Host tools the system tests build guests with: a missing one makes its tests skip with a reason.
import { spawnSync } from 'node:child_process';

/** The first of `tools` that does not run (`tool --version`), as a skip reason "<tool><note> not found"; null when all run. */
export function missingTool(tools: readonly string[], note = ''): string | null {
  for (const tool of tools) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `${tool}${note} not found`;
  }
  return null;
}
