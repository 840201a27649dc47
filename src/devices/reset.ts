/**
 * The PC's reset and debug ports:
 *   0x64  keyboard-controller command port: command 0xFE pulses the reset line. Reads return
 *         an idle i8042 status (0x1C: input buffer empty), so guests polling before writing
 *         proceed. (There is no keyboard: port 0x60 is not claimed.)
 *   0x92  System Control Port A: a 0->1 transition of bit 0 is a fast reset; bit 1 is the A20
 *         gate (stored, reads back, A20 is always on in this machine).
 *   0xCF9 Reset Control Register (PIIX): a write with bit 2 (RST_CPU) set resets, e.g. 0x06
 *         (soft) and 0x0E (hard); bit 1 (SYS_RST) is kept as QEMU does.
 *   0xE9  QEMU isa-debugcon: writes are bytes for `debugOut`; reads return 0xE9 (the probe
 *         value QEMU answers).
 *   0xF4  QEMU isa-debug-exit (only when `debugExit` is given): a write ends the run with
 *         status (value << 1) | 1, handy for bare-metal tests.
 */
import type { AccessSize, PortDevice } from './bus.js';

export const I8042_STATUS_IDLE = 0x1c;
export const I8042_CMD_RESET = 0xfe;
export const DEBUGCON_PORT = 0xe9;
export const DEBUG_EXIT_PORT = 0xf4;

export interface ResetOptions {
  /** The machine must reset (all CPUs back to their power-on state). */
  reset: () => void;
  /** A byte written to port 0xE9. */
  debugOut?: (byte: number) => void;
  /** Port 0xF4 write: the exit status QEMU's isa-debug-exit would produce. */
  debugExit?: (status: number) => void;
}

export class ResetPorts implements PortDevice {
  readonly portRanges: ReadonlyArray<readonly [number, number]>;
  private port92 = 0x02;
  private rcr = 0;

  constructor(private readonly opts: ResetOptions) {
    const ranges: [number, number][] = [[0x64, 1], [0x92, 1], [0xcf9, 1], [DEBUGCON_PORT, 1]];
    if (opts.debugExit) ranges.push([DEBUG_EXIT_PORT, 1]);
    this.portRanges = ranges;
  }

  readPort(port: number, _size: AccessSize): number {
    switch (port) {
      case 0x64: return I8042_STATUS_IDLE;
      case 0x92: return this.port92;
      case 0xcf9: return this.rcr;
      case DEBUGCON_PORT: return DEBUGCON_PORT;
      default: return 0xff;
    }
  }

  writePort(port: number, size: AccessSize, value: number): void {
    switch (port) {
      case 0x64:
        if ((value & 0xff) === I8042_CMD_RESET) this.opts.reset();
        return;
      case 0x92: {
        const old = this.port92;
        this.port92 = value & 0x03;
        // Bit 0 is a pulse: it reads back clear once the reset has been requested.
        if (value & 1 && !(old & 1)) {
          this.port92 &= ~1;
          this.opts.reset();
        }
        return;
      }
      case 0xcf9:
        if (size !== 1) return; // a dword here is the PCI address register, routed elsewhere
        this.rcr = value & 0x02;
        if (value & 0x04) this.opts.reset();
        return;
      case DEBUGCON_PORT:
        this.opts.debugOut?.(value & 0xff);
        return;
      case DEBUG_EXIT_PORT:
        this.opts.debugExit?.(((value & 0xff) << 1) | 1);
        return;
    }
  }
}
