// Builds the bare-metal guests of images/bare with the host toolchain (through test/images/build.ts when
// that exists, else `make -C images` into a private directory). Returns null when gcc/make are missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingTool } from './tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(tmpdir(), `osvemu-system-images-${process.getuid?.() ?? 0}`);

export function bareToolchainMissing(): string | null {
  const tool = missingTool(['gcc', 'make', 'objcopy']);
  if (tool) return tool;
  if (!existsSync(join(ROOT, 'images/Makefile'))) return 'images/Makefile missing';
  return null;
}

/** The ELF bytes of images/bare/<name>.c, built on demand. */
export async function bareImage(name: string): Promise<Uint8Array> {
  const helper = join(ROOT, 'test/images/build.ts');
  if (existsSync(helper)) {
    const mod = (await import(helper)) as { buildImage?: (n: string) => string | Uint8Array | Promise<string | Uint8Array> };
    if (mod.buildImage) {
      const r = await mod.buildImage(name);
      return typeof r === 'string' ? new Uint8Array(readFileSync(r)) : r;
    }
  }
  const target = join(OUT, `${name}.elf`);
  const r = spawnSync('make', ['-s', '-C', join(ROOT, 'images'), `OUT=${OUT}`, target], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building images/bare/${name} failed:\n${r.stderr || r.stdout}`);
  return new Uint8Array(readFileSync(target));
}
