// SSE-family instructions (SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2, and the MMX integer forms): importing this module registers
// every opcode they use in the decoder maps (see src/cpu/ops/README.md).
import './ops-move.js';
import './ops-int.js';
import './ops-fp.js';
import './ops-ctl.js';
import './ops-mmx.js';
import './ops-crc32.js';
