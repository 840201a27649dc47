// The subcommands of `osvemu` and their usage texts: `osvemu help [CMD]`, `osvemu CMD --help`.
import { USAGE as RUN_USAGE } from './args.js';
import { TEST_USAGE } from './test-args.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
}

export const COMMANDS: readonly Command[] = [
  { name: 'run', summary: 'boot a PVH kernel (an OSv loader-stripped.elf) headlessly', usage: RUN_USAGE },
  { name: 'test', summary: "run OSv's /tests/tst-*.so, each in a fresh machine, as scripts/test.py does", usage: TEST_USAGE },
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
