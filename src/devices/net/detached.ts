/**
 * A card with no wire: what a restored snapshot's network card gets when the restore names no back
 * end (a host socket cannot be saved). Frames the guest sends are dropped; none ever arrive.
 */
import type { NetBackend } from './backend.js';

export class DetachedBackend implements NetBackend {
  readonly description = 'detached';
  readonly live = false;
  open(): void {}
  send(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}
