/* Host-CPU oracle for the x87 tests: runs the real x87 instruction for each input line.
 * Input lines:  op cw ase ahi alo bse bhi blo   (hex)
 * Output lines: fsw st0se st0hi st0lo memhi memlo eflags st1se st1hi st1lo   (hex)
 * ST0 = a, ST1 = b before the operation; memory operands/results use a 8-byte buffer
 * (lo at offset 0, hi at offset 4; for ops >= 50 the memory source is b's hi:lo) prefilled with a sentinel so "no store" is visible.
 * The state is captured with FNSAVE (no-wait) so unmasked exceptions never trap. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

typedef struct { uint32_t lo, hi; uint16_t se; } __attribute__((packed)) f80_t;

#define PRE "fninit\n\tfldcw %[cw]\n\t"
#define LD2 "fldt %[b]\n\tfldt %[a]\n\t"
#define POST "\n\tfnsave %[sv]\n\t"
#define RUN(body) __asm__ volatile(PRE body POST : [sv] "=m"(sv), [m] "+m"(mem) : [cw] "m"(cw16), [a] "m"(a), [b] "m"(b) : "memory")

int main(void) {
  char line[256];
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  while (fgets(line, sizeof line, stdin)) {
    unsigned op, cw, ase, ahi, alo, bse, bhi, blo;
    if (sscanf(line, "%u %x %x %x %x %x %x %x", &op, &cw, &ase, &ahi, &alo, &bse, &bhi, &blo) != 8) {
      fprintf(stderr, "oracle: bad line\n");
      return 2;
    }
    f80_t a = {alo, ahi, (uint16_t)ase}, b = {blo, bhi, (uint16_t)bse};
    uint16_t cw16 = (uint16_t)cw;
    unsigned char sv[108];
    uint32_t mem[2] = {0xdeadbeef, 0xcafef00d};
    uint64_t efl = 0;
    if (op >= 20 && op <= 24) { mem[0] = alo; mem[1] = ahi; }
    if (op >= 50) { mem[0] = blo; mem[1] = bhi; }
    switch (op) {
      case 0: RUN(LD2 "faddp %%st, %%st(1)\n\tfld %%st(0)"); break; /* placeholder (unused) */
      case 1: RUN(LD2 "fadd %%st(1), %%st"); break;
      case 2: RUN(LD2 "fsub %%st(1), %%st"); break;
      case 3: RUN(LD2 "fsubr %%st(1), %%st"); break;
      case 4: RUN(LD2 "fmul %%st(1), %%st"); break;
      case 5: RUN(LD2 "fdiv %%st(1), %%st"); break;
      case 6: RUN(LD2 "fdivr %%st(1), %%st"); break;
      case 7: RUN(LD2 "fsqrt"); break;
      case 8: RUN(LD2 "frndint"); break;
      case 9: RUN(LD2 "fscale"); break;
      case 10: RUN(LD2 "fcom %%st(1)"); break;
      case 11: RUN(LD2 "fucom %%st(1)"); break;
      case 12: __asm__ volatile(PRE LD2 "fcomi %%st(1), %%st\n\tpushfq\n\tpopq %[f]" POST
                                : [sv] "=m"(sv), [m] "+m"(mem), [f] "=r"(efl) : [cw] "m"(cw16), [a] "m"(a), [b] "m"(b) : "memory", "cc"); break;
      case 13: __asm__ volatile(PRE LD2 "fucomi %%st(1), %%st\n\tpushfq\n\tpopq %[f]" POST
                                : [sv] "=m"(sv), [m] "+m"(mem), [f] "=r"(efl) : [cw] "m"(cw16), [a] "m"(a), [b] "m"(b) : "memory", "cc"); break;
      case 14: RUN(LD2 "ftst"); break;
      case 15: RUN(LD2 "fxam"); break;
      case 16: RUN("fxam"); break; /* empty register */
      case 17: RUN(LD2 "fprem"); break;
      case 18: RUN(LD2 "fprem1"); break;
      case 19: RUN(LD2 "fxtract"); break;
      case 20: RUN("flds %[m]"); break;
      case 21: RUN("fldl %[m]"); break;
      case 22: RUN("filds %[m]"); break;
      case 23: RUN("fildl %[m]"); break;
      case 24: RUN("fildll %[m]"); break;
      case 30: RUN(LD2 "fsts %[m]"); break;
      case 31: RUN(LD2 "fstl %[m]"); break;
      case 32: RUN(LD2 "fistps %[m]"); break;
      case 33: RUN(LD2 "fistpl %[m]"); break;
      case 34: RUN(LD2 "fistpll %[m]"); break;
      case 35: RUN(LD2 "fisttps %[m]"); break;
      case 36: RUN(LD2 "fisttpl %[m]"); break;
      case 37: RUN(LD2 "fisttpll %[m]"); break;
      case 40: RUN("fld1"); break;
      case 41: RUN("fldl2t"); break;
      case 42: RUN("fldl2e"); break;
      case 43: RUN("fldpi"); break;
      case 44: RUN("fldlg2"); break;
      case 45: RUN("fldln2"); break;
      case 46: RUN("fldz"); break;
      case 50: RUN("fldt %[a]\n\tfadds %[m]"); break;
      case 51: RUN("fldt %[a]\n\tfsubs %[m]"); break;
      case 52: RUN("fldt %[a]\n\tfsubrs %[m]"); break;
      case 53: RUN("fldt %[a]\n\tfmuls %[m]"); break;
      case 54: RUN("fldt %[a]\n\tfdivs %[m]"); break;
      case 55: RUN("fldt %[a]\n\tfdivrs %[m]"); break;
      case 56: RUN("fldt %[a]\n\tfcoms %[m]"); break;
      case 57: RUN("fldt %[a]\n\tfaddl %[m]"); break;
      case 58: RUN("fldt %[a]\n\tfsubl %[m]"); break;
      case 59: RUN("fldt %[a]\n\tfsubrl %[m]"); break;
      case 60: RUN("fldt %[a]\n\tfmull %[m]"); break;
      case 61: RUN("fldt %[a]\n\tfdivl %[m]"); break;
      case 62: RUN("fldt %[a]\n\tfdivrl %[m]"); break;
      case 63: RUN("fldt %[a]\n\tfcoml %[m]"); break;
      default: fprintf(stderr, "oracle: unknown op %u\n", op); return 2;
    }
    uint16_t fsw; uint32_t lo, hi, lo1, hi1; uint16_t se, se1;
    memcpy(&fsw, sv + 4, 2);
    memcpy(&lo, sv + 28, 4); memcpy(&hi, sv + 32, 4); memcpy(&se, sv + 36, 2);
    memcpy(&lo1, sv + 38, 4); memcpy(&hi1, sv + 42, 4); memcpy(&se1, sv + 46, 2);
    printf("%x %x %x %x %x %x %x %x %x %x\n", fsw, se, hi, lo, mem[1], mem[0], (unsigned)efl, se1, hi1, lo1);
  }
  return 0;
}
