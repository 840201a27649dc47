// Build step after tsc (`npm run build`): bundles the CLI (src/cli/main.ts and everything it imports) into
// dist/src/cli/main.bundle.cjs and turns dist/src/cli/main.js into a stub that runs it through launch.ts
// (one file and a V8 code cache instead of ~130 ES modules: cold start, issue 12). tsc's own main.js is kept
// as main.modules.js, which the stub runs when the bundle is missing. Without esbuild (a dependency of
// vitest's vite, so present wherever the dev dependencies are) the CLI stays unbundled, as tsc built it.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const STUB_MARK = '// osvemu CLI stub (src/cli/bundle.ts)';

const STUB = `#!/usr/bin/env node
${STUB_MARK}: runs main.bundle.cjs with its V8 code cache (launch.js), or the ES modules
// tsc built (main.modules.js) when there is no bundle.
import { fileURLToPath } from 'node:url';
import { launch } from './launch.js';
if (!launch(fileURLToPath(new URL('./main.bundle.cjs', import.meta.url)))) await import('./main.modules.js');
`;

async function main(): Promise<void> {
  const distCli = path.dirname(fileURLToPath(import.meta.url));
  const root = path.resolve(distCli, '../../..');
  const mainJs = path.join(distCli, 'main.js');
  const modulesJs = path.join(distCli, 'main.modules.js');
  const bundle = path.join(distCli, 'main.bundle.cjs');
  let esbuild: { build(o: object): Promise<unknown> };
  try {
    esbuild = await import('esbuild' as string);
  } catch {
    process.stderr.write('osvemu build: esbuild not found, the CLI stays unbundled (slower cold start)\n');
    return;
  }
  await esbuild.build({
    entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    // Class names appear in snapshot errors; esbuild would rename clashing ones.
    keepNames: true,
    // guest.ts and the test runner find files relative to their module; in the bundle that is dist/src/cli.
    // Computed on first use: a cold run that builds no guest image never needs it.
    define: { 'import.meta.url': '__osvemuBundle.url' },
    banner: { js: 'var __osvemuBundle = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
    logLevel: 'warning',
  });
  // esbuild escapes non-ASCII characters in strings but keeps them in the comments it preserves: escape those too,
  // so that launch.ts can read the bundle as Latin-1 (a one-byte string, no UTF-8 decoding: 10-20 ms of a cold
  // start on this host). \uXXXX means the same in a string, template or regular expression as in a comment.
  const text = readFileSync(bundle, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(bundle, ascii);
  // tsc rewrote main.js (or this step already ran): keep the module version, then install the stub.
  if (!readFileSync(mainJs, 'utf8').includes(STUB_MARK)) renameSync(mainJs, modulesJs);
  if (!existsSync(modulesJs)) throw new Error(`${modulesJs} is missing: run tsc first`);
  writeFileSync(mainJs, STUB, { mode: 0o755 });
}

main().catch((e) => {
  // The modules tsc built still work: warn (test/cli/cold-start.test.ts fails on it) rather than break the build.
  process.stderr.write(`osvemu build: WARNING: bundling the CLI failed, it stays unbundled (slower cold start): ${(e as Error).message}\n`);
});
