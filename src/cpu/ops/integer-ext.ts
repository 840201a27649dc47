// The integer instructions beyond the core ALU/mov/branch set: shifts and rotates, multiply and divide,
// bit operations, atomics, string instructions. Each module registers its opcodes when imported.
import './shift.js';
import './muldiv.js';
import './bitops.js';
import './atomic.js';
import './string.js';
