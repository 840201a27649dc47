// osvemu's own cache folder: $XDG_CACHE_HOME/osvemu, else ~/.cache/osvemu, else os.tmpdir()/osvemu-$UID. Only
// things that cost speed to lose live there (the CLI's V8 code cache, test durations); nothing in it is ever
// needed for a correct run.
import os from 'node:os';
import path from 'node:path';

export function osvemuCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'osvemu');
  let home = '';
  try {
    home = os.homedir();
  } catch {
    // no home directory: fall back to the temporary folder
  }
  return home ? path.join(home, '.cache', 'osvemu') : path.join(os.tmpdir(), `osvemu-${process.getuid?.() ?? 'user'}`);
}
