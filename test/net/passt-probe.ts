// Whether passt can run here: installed, and the host has a routable interface for it to template
// its addresses on. Tests that need passt skip with this reason instead of failing.
import { findPasst, PasstBackend } from '../../src/devices/net/passt.js';

async function probe(): Promise<string | null> {
  if (!findPasst()) return 'passt is not installed (.ci/run installs it)';
  try {
    const b = await PasstBackend.start();
    await b.close();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export const passtProblem = await probe();
if (passtProblem) console.warn(`skipping passt tests: ${passtProblem}`);
