// `osvemu trace` usage, apart from the command so that `osvemu help` and `run` do not load the trace and
// DWARF modules (cold start, issue 12).
export const TRACE_USAGE = `usage: osvemu trace SNAPSHOT FILE [--symbols LOADER_ELF] [--perfetto JSON]
       osvemu trace list FILE [-t|--tracepoint PREFIX] [-b|--backtrace] [--perfetto JSON]
  trace SNAPSHOT FILE  writes the saved machine's OSv trace buffers (tracepoints enabled with e.g.
                       --trace=sched\\* on OSv's command line) as an OSVT dump, the format OSv serves at
                       /trace/buffers: OSv's "scripts/trace.py list FILE" reads it. Layouts come from the
                       kernel's DWARF: --symbols names loader.elf when the snapshot's kernel is stripped
  trace list FILE      prints the samples of an OSVT dump (or of loader.py's "osv trace save" file) as
                       "trace.py list" does; -t keeps tracepoints whose name starts with PREFIX, -b adds
                       backtraces (named from the dump's symbols)
  --perfetto JSON      also writes the samples as Chrome trace-event JSON, one track per CPU and per OSv
                       thread (open it in ui.perfetto.dev or chrome://tracing)
  under gdb: monitor osv trace save FILE [--perfetto JSON]; a whole run: osvemu run --trace-save FILE`;
