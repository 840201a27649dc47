// Samples of the forms specialised by forms-ctl.ts, forms-alu2.ts and forms-sse.ts (see forms.ts: the compiler
// learns which interpreter handler implements a form by decoding these).
export type MoreForm =
  | 'jmpInd' | 'callInd' | 'leave' | 'shift' | 'negnot' | 'shxd' | 'mulWide' | 'bsf' | 'bsr' | 'unpckps' | 'unpckpd' | 'punpck' | 'xchg' | 'xadd' | 'cmpxchg' | 'arithSs' | 'comiSs'
  | 'sseLoad128' | 'sseStore128' | 'movsdLoad' | 'movsdStore' | 'movssLoad' | 'movssStore' | 'movdTo' | 'movdFrom'
  | 'movqLoad' | 'movqStore' | 'pxorReg' | 'sseLogic' | 'arithSd' | 'comiSd' | 'cvtsi2sd' | 'cvtsi2ss' | 'cvtss2sd' | 'cvtsd2ss' | 'cvtToInt'
  // Compiled by wasm blocks only (wasm/compile.ts).
  | 'tzcnt' | 'pushf' | 'cli';

/** Samples of forms only wasm blocks compile (wasm/compile.ts). */
export function wasmOnlySamples(): [string, MoreForm][] {
  const out: [string, MoreForm][] = [['9c', 'pushf'], ['fa', 'cli']];
  for (const p of ['', '48 ']) for (const m of ['06', 'c1']) out.push([`f3 ${p}0f bc ${m}`, 'tzcnt']);
  return out;
}

export function moreSamples(): [string, MoreForm][] {
  const out: [string, MoreForm][] = [];
  out.push(['ff d0', 'callInd'], ['ff 10', 'callInd'], ['ff 14 c5 00 01 00 00', 'callInd'], ['41 ff d3', 'callInd']);
  for (const p of ['', '48 ', '66 ', 'f0 ', 'f0 48 ']) {
    for (const m of p.startsWith('f0') ? ['18'] : ['18', 'd8']) { // lock with a register operand is #UD
      out.push([`${p}87 ${m}`, 'xchg'], [`${p}0f c1 ${m}`, 'xadd'], [`${p}0f b1 ${m}`, 'cmpxchg']);
      if (!p.includes('48') && p !== '66 ') out.push([`${p}86 ${m}`, 'xchg'], [`${p}0f c0 ${m}`, 'xadd'], [`${p}0f b0 ${m}`, 'cmpxchg']);
    }
  }
  for (const p of ['', '48 ', '66 ']) {
    for (const m of ['18', 'd8', '10', 'd0']) out.push([`${p}f7 ${m}`, 'negnot']);
    for (const m of ['06', 'c1']) out.push([`${p}0f bc ${m}`, 'bsf'], [`${p}0f bd ${m}`, 'bsr']);
    for (const m of ['06', 'c1']) out.push([`${p}0f a4 ${m} 05`, 'shxd'], [`${p}0f ac ${m} 05`, 'shxd'], [`${p}0f a5 ${m}`, 'shxd'], [`${p}0f ad ${m}`, 'shxd']);
    if (p !== '66 ') for (const m of ['e1', 'e9', '21', '29']) out.push([`${p}f7 ${m}`, 'mulWide']);
  }
  out.push(['f6 18', 'negnot'], ['f6 d8', 'negnot'], ['f6 10', 'negnot'], ['f6 d0', 'negnot'], ['f0 f7 18', 'negnot']);
  for (const m of ['c1', '06']) {
    out.push([`0f 14 ${m}`, 'unpckps'], [`0f 15 ${m}`, 'unpckps'], [`66 0f 14 ${m}`, 'unpckpd'], [`66 0f 15 ${m}`, 'unpckpd']);
    out.push([`66 0f 62 ${m}`, 'punpck'], [`66 0f 6a ${m}`, 'punpck'], [`66 0f 6c ${m}`, 'punpck'], [`66 0f 6d ${m}`, 'punpck']);
  }
  out.push(['ff e0', 'jmpInd'], ['ff 20', 'jmpInd'], ['ff 24 c5 00 01 00 00', 'jmpInd'], ['41 ff e3', 'jmpInd'], ['c9', 'leave']);
  for (const ext of ['e0', 'e8', 'f8', '20', '28', '38']) {
    // 64-bit register shifts by a constant have their own handlers (the shiftImm form).
    for (const p of ['', '48 ', '66 ']) {
      if (p !== '48 ' || ext.startsWith('2') || ext.startsWith('3')) out.push([`${p}c1 ${ext} 03`, 'shift'], [`${p}d1 ${ext}`, 'shift']);
      out.push([`${p}d3 ${ext}`, 'shift']);
    }
    out.push([`c0 ${ext} 03`, 'shift'], [`d0 ${ext}`, 'shift'], [`d2 ${ext}`, 'shift']);
  }
  // movups/movupd/movaps/movapd/movdqa/movdqu/lddqu loads, and the stores.
  for (const m of ['c1', '06']) {
    out.push([`0f 10 ${m}`, 'sseLoad128'], [`66 0f 10 ${m}`, 'sseLoad128'], [`0f 28 ${m}`, 'sseLoad128'], [`66 0f 28 ${m}`, 'sseLoad128']);
    out.push([`66 0f 6f ${m}`, 'sseLoad128'], [`f3 0f 6f ${m}`, 'sseLoad128']);
    out.push([`0f 11 ${m}`, 'sseStore128'], [`66 0f 11 ${m}`, 'sseStore128'], [`0f 29 ${m}`, 'sseStore128'], [`66 0f 29 ${m}`, 'sseStore128']);
    out.push([`66 0f 7f ${m}`, 'sseStore128'], [`f3 0f 7f ${m}`, 'sseStore128']);
    out.push([`f2 0f 10 ${m}`, 'movsdLoad'], [`f2 0f 11 ${m}`, 'movsdStore'], [`f3 0f 10 ${m}`, 'movssLoad'], [`f3 0f 11 ${m}`, 'movssStore']);
    out.push([`f3 0f 7e ${m}`, 'movqLoad'], [`66 0f d6 ${m === 'c1' ? 'c8' : m}`, 'movqStore']);
    for (const w of ['', '48 ']) {
      out.push([`66 ${w}0f 6e ${m === 'c1' ? 'c0' : m}`, 'movdTo'], [`66 ${w}0f 7e ${m === 'c1' ? 'c0' : m}`, 'movdFrom']);
      out.push([`f3 ${w}0f 2a ${m === 'c1' ? 'c0' : m}`, 'cvtsi2ss']);
      out.push([`f2 ${w}0f 2a ${m === 'c1' ? 'c0' : m}`, 'cvtsi2sd'], [`f2 ${w}0f 2c ${m}`, 'cvtToInt'], [`f2 ${w}0f 2d ${m}`, 'cvtToInt']);
    }
    for (const op of ['58', '59', '5c', '5d', '5e', '5f', '51']) out.push([`f2 0f ${op} ${m}`, 'arithSd']);
    out.push([`f3 0f 5a ${m}`, 'cvtss2sd'], [`f2 0f 5a ${m}`, 'cvtsd2ss']);
    out.push([`66 0f 2e ${m}`, 'comiSd'], [`66 0f 2f ${m}`, 'comiSd'], [`0f 2e ${m}`, 'comiSs'], [`0f 2f ${m}`, 'comiSs']);
    for (const op of ['58', '59', '5c', '5d', '5e', '5f', '51']) out.push([`f3 0f ${op} ${m}`, 'arithSs']);
    // and/andn/or/xor ps/pd, pand/pandn/por/pxor (the register xors have their own handler).
    for (const op of ['54', '55', '56', '57']) out.push([`0f ${op} ${m}`, m === 'c1' && op === '57' ? 'pxorReg' : 'sseLogic'], [`66 0f ${op} ${m}`, m === 'c1' && op === '57' ? 'pxorReg' : 'sseLogic']);
    for (const op of ['db', 'df', 'eb', 'ef']) out.push([`66 0f ${op} ${m}`, m === 'c1' && op === 'ef' ? 'pxorReg' : 'sseLogic']);
  }
  return out;
}
