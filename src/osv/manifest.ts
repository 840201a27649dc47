// OSv's usr.manifest, read the way scripts/test.py reads it: "GUEST: HOST" lines; blank lines,
// "#" comments and the "[manifest]" header are skipped.

export class ManifestError extends Error {}

const COMMENT = /^[ \t]*(|#.*|\[manifest\])$/;

/** Guest paths of the manifest's entries, in file order. */
export function manifestGuestPaths(text: string, name = 'manifest'): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k].replace(/\s+$/, '');
    if (COMMENT.test(line)) continue;
    const colon = line.indexOf(': ');
    if (colon < 0) throw new ManifestError(`${name}:${k + 1}: expected "GUEST: HOST", got "${line.slice(0, 60)}"`);
    out.push(line.slice(0, colon).trim());
  }
  return out;
}
