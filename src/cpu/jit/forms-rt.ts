// Runtime helpers of the forms in forms-ctl.ts, forms-alu2.ts and forms-sse.ts: what their generated code calls
// (the compiler's prelude destructures this object, so each name is a constant of the block's closure).
import { doubleShift, shift64, shiftHi, shiftSmall } from '../ops/shift.js';
import { mulS32, mulS64, mulU32, mulU64, W as WW } from '../ops/wide.js';
import { bitScanFlags } from '../ops/undef.js';
import {
  arithSdStaged, arithSsStaged, comiSdStaged, comiSsStaged, cvtsd2ssStaged, cvtsi2sdFrom, cvtsi2ssFrom, cvtss2sdStaged, cvtToIntStaged,
} from '../sse/ops-fp.js';
import { sseCheck, W } from '../sse/sse-state.js';

/** Two words seen as one binary64 (a memory operand loaded as halves, used as a double). */
const CVI = new Int32Array(2);
const CVF = new Float64Array(CVI.buffer);
const CVS = new Float32Array(CVI.buffer);
/** The lazy-flag record the shift helpers write their flags to (compiled code keeps flags in locals). */
const SLF = new Int32Array(10);

export const MORE_RT = {
  shift64, shiftHi, shiftSmall, SLF, CVI, CVF, CVS, W, sseCheck, arithSdStaged, arithSsStaged, comiSdStaged, comiSsStaged,
  cvtsi2sdFrom, cvtsi2ssFrom, cvtss2sdStaged, cvtsd2ssStaged, cvtToIntStaged, bitScanFlags, doubleShift, WW, mulU64w: mulU64, mulS64w: mulS64, mulU32w: mulU32, mulS32w: mulS32,
};
