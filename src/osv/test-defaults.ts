// Defaults of `osvemu test` (scripts/test.py's machine), apart from the runner so that the CLI's usage
// text can name them without loading it.
export const DEFAULT_CPUS = 4;
export const DEFAULT_MEM_MIB = 2048;
export const DEFAULT_TIMEOUT_SEC = 300;
