// System-architecture instructions (CPL 0 machinery); each module registers its opcodes on import.
import './segments.js';
import './control.js';
import './msr.js';
import './io.js';
import './syscall.js';
import './xsave.js';
