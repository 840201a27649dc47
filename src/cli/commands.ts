// The subcommands of `osvemu` and their usage texts: `osvemu help [CMD]`, `osvemu CMD --help`.
import { USAGE as RUN_USAGE } from './args.js';
import { TEST_USAGE } from './test-args.js';
import { TRACE_USAGE } from './trace-usage.js';

const DEBUG_USAGE = `usage: osvemu debug SNAPSHOT [--gdb [HOST:]PORT] [--disk FILE]... [--symbols LOADER_ELF]
  serves the gdb stub on a machine saved by --snapshot-at, --on-abort snapshot=FILE or "monitor snapshot save FILE"
  (default port 1234); an aborted machine stops with SIGABRT on the aborting vCPU, and with --symbols (the
  unstripped loader.elf of a stripped kernel) gdb threads are OSv threads with the aborting one selected`;
const CORE_USAGE = `usage: osvemu core SNAPSHOT FILE [--symbols LOADER_ELF]
  writes an ELF core file of the saved machine: one thread per OSv thread (per vCPU without the kernel's DWARF:
  a stripped kernel needs --symbols), memory at its virtual addresses; open it with: gdb loader.elf FILE`;

export interface Command {
  name: string;
  summary: string;
  usage: string;
}

export const COMMANDS: readonly Command[] = [
  { name: 'run', summary: 'boot a PVH kernel (an OSv loader-stripped.elf) headlessly', usage: RUN_USAGE },
  { name: 'test', summary: "run OSv's /tests/tst-*.so, each in a fresh machine, as scripts/test.py does", usage: TEST_USAGE },
  { name: 'debug', summary: 'serve the gdb stub on a saved machine (a snapshot), offline', usage: DEBUG_USAGE },
  { name: 'core', summary: 'write an ELF core file of a snapshot that stock gdb opens', usage: CORE_USAGE },
  { name: 'trace', summary: "OSv's trace buffers of a snapshot as an OSVT dump; list a dump as scripts/trace.py does", usage: TRACE_USAGE },
  { name: 'help', summary: 'print this list, or a command\'s usage: osvemu help run', usage: 'usage: osvemu help [COMMAND]' },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** `osvemu`, `osvemu help`, `osvemu --help`. */
export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return ['usage: osvemu COMMAND [ARGS...]   (osvemu COMMAND --help for a command\'s options)', '', 'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)].join('\n');
}
