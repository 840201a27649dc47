// Loads every instruction module; each registers its opcodes in the maps of optable.ts when imported.
import './alu.js';
import './mov.js';
import './branch.js';
import './misc.js';
import './integer-ext.js';
import '../x87/ops.js';
import '../sse/ops.js';
import '../system/ops.js';
