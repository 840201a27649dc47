// OSv's kernel data as a debugger reads it (osv-machine.md §6): the thread map, the CPUs, the
// loaded objects. Every layout comes from the DWARF (DebugInfo); nothing about a structure's
// offsets is written here. Reads go through a plain memory callback (kernel addresses are the same
// in every vCPU's address space), so this is usable live (gdb stub) and post mortem.

import type { DebugInfo, MemberLayout } from './debug-info.js';

export type ReadMemory = (addr: number, length: number) => Uint8Array | null;

/** sched::thread::status values (osv-machine.md §6); the names are what `info threads` shows. */
export const THREAD_STATUS = [
  'invalid', 'prestarted', 'unstarted', 'waiting', 'sending_lock', 'running', 'queued', 'waking', 'terminating', 'terminated',
] as const;

export interface OsvThread extends ThreadIdentity {
  name: string;
  status: string;
  /** Index in sched::cpus of the thread's cpu (_detached_state->_cpu), -1 when unknown. */
  cpu: number;
  /** Saved context (meaningful while the thread is not on a vCPU). */
  rsp: number;
  rbp: number;
  rip: number;
}

/** What does not change during a thread's life: enough to place it on a vCPU. */
export interface ThreadIdentity {
  /** Address of the sched::thread. */
  addr: number;
  id: number;
  tcb: number;
  stackBegin: number;
  stackSize: number;
}

export interface OsvObject {
  addr: number;
  base: number;
  end: number;
  path: string;
  /** Address of the dynamic section, 0 when unknown. */
  dynamic: number;
}

interface ThreadLayout {
  statusNames: string[];
  detached: number;
  st: MemberLayout;
  cpu: number;
  id: MemberLayout;
  name: MemberLayout;
  tcb: number;
  stackBegin: number;
  stackSize: number;
  rsp: number;
  rbp: number;
  rip: number;
}

/** A layout the kernel's DWARF does not describe: the feature using it is unavailable. */
export class LayoutError extends Error {}

const POINTER = 8;

function u32le(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

function u64(b: Uint8Array, off = 0): number {
  return u32le(b, off + 4) * 4294967296 + u32le(b, off);
}

/** Granule of the read cache: big enough for a thread's fields, small enough not to copy much. */
const PAGE = 512;

export class OsvKernel {
  private readonly members = new Map<string, MemberLayout>();
  private cpuList: number[] | null = null;
  /** Guest memory read since the last invalidate(), by PAGE-sized block: a thread list reads each many times. */
  private readonly pages = new Map<number, Uint8Array | null>();

  constructor(readonly debug: DebugInfo, private readonly read: ReadMemory) {}

  /** Forgets what was read from guest memory (call after the guest ran). */
  invalidate(): void {
    this.cpuList = null;
    this.pages.clear();
  }

  // ---- layouts ---------------------------------------------------------------------------------
  member(type: string, path: string): MemberLayout {
    const key = `${type}\u0000${path}`;
    let m = this.members.get(key);
    if (m === undefined) {
      m = this.debug.member(type, path);
      if (m === undefined) throw new LayoutError(`the debug info has no ${type}::${path}`);
      this.members.set(key, m);
    }
    return m;
  }

  hasMember(type: string, path: string): boolean {
    try {
      this.member(type, path);
      return true;
    } catch {
      return false;
    }
  }

  off(type: string, path: string): number {
    return this.member(type, path).offset;
  }

  variableAddress(name: string): number {
    const v = this.debug.variable(name);
    if (v === undefined || v.location.kind !== 'address') throw new LayoutError(`the debug info has no global ${name}`);
    return v.location.address;
  }

  variableType(name: string): string {
    const v = this.debug.variable(name);
    if (v === undefined) throw new LayoutError(`the debug info has no global ${name}`);
    return v.typeName;
  }

  // ---- memory ------------------------------------------------------------------------------------
  private page(base: number): Uint8Array | null {
    let p = this.pages.get(base);
    if (p === undefined) {
      const b = this.read(base, PAGE);
      p = b !== null && b.length === PAGE ? b : null;
      this.pages.set(base, p);
    }
    return p;
  }

  bytes(addr: number, length: number): Uint8Array {
    const off = addr % PAGE;
    if (off + length <= PAGE) {
      const p = this.page(addr - off);
      if (p !== null) return p.subarray(off, off + length);
    }
    const b = this.read(addr, length);
    if (b === null || b.length < length) throw new LayoutError(`cannot read ${length} bytes at 0x${addr.toString(16)}`);
    return b;
  }

  ptr(addr: number): number {
    return u64(this.bytes(addr, POINTER));
  }

  u32(addr: number): number {
    return u32le(this.bytes(addr, 4), 0);
  }

  /** An unsigned integer member of up to 8 bytes. */
  uint(addr: number, m: MemberLayout): number {
    if (m.size === 8) return this.ptr(addr + m.offset);
    if (m.size === 4) return this.u32(addr + m.offset);
    const b = this.bytes(addr + m.offset, m.size);
    let v = 0;
    for (let i = m.size - 1; i >= 0; i--) v = v * 256 + b[i];
    return v;
  }

  cstring(addr: number, max: number): string {
    const off = addr % PAGE;
    const b = off + max <= PAGE ? this.page(addr - off)?.subarray(off, off + max) ?? null : this.read(addr, max);
    if (b === null) return '';
    const end = b.indexOf(0);
    return Buffer.from(b.subarray(0, end < 0 ? b.length : end)).toString('latin1');
  }

  /** A std::string (libstdc++) or char* / char[] member's text. */
  text(addr: number, m: MemberLayout): string {
    if (m.typeName.startsWith('char [')) return this.cstring(addr + m.offset, m.size);
    if (m.baseTypeName.startsWith('std::array<char,')) return this.cstring(addr + m.offset, m.size);
    if (m.baseTypeName === 'char *') return this.cstring(this.ptr(addr + m.offset), 4096);
    const p = this.debug.member(m.baseTypeName, '_M_dataplus._M_p');
    if (p === undefined) return '';
    return this.cstring(this.ptr(addr + m.offset + p.offset), 4096);
  }

  /** The elements of a std::vector<T*> (libstdc++: _M_impl._M_start/_M_finish). */
  pointerVector(addr: number, type: string): number[] {
    const start = this.ptr(addr + this.off(type, '_M_impl._M_start'));
    const finish = this.ptr(addr + this.off(type, '_M_impl._M_finish'));
    const n = (finish - start) / POINTER;
    if (!Number.isInteger(n) || n < 0 || n > 65536) throw new LayoutError(`implausible vector at 0x${addr.toString(16)}`);
    const out: number[] = [];
    const b = n > 0 ? this.bytes(start, n * POINTER) : new Uint8Array(0);
    for (let i = 0; i < n; i++) out.push(u64(b, i * POINTER));
    return out;
  }

  // ---- CPUs --------------------------------------------------------------------------------------
  /** Addresses of the sched::cpu objects, by index. */
  cpus(): number[] {
    if (this.cpuList === null) this.cpuList = this.pointerVector(this.variableAddress('sched::cpus'), this.variableType('sched::cpus'));
    return this.cpuList;
  }

  // ---- threads -----------------------------------------------------------------------------------
  /** sched::thread_map's values (thread addresses) in the map's iteration order. */
  threadAddresses(): number[] {
    const mapType = this.variableType('sched::thread_map');
    const map = this.variableAddress('sched::thread_map');
    const first = this.ptr(map + this.off(mapType, '_M_h._M_before_begin._M_nxt'));
    const valueOff = this.threadNodeValueOffset(mapType);
    const out: number[] = [];
    for (let node = first, guard = 0; node !== 0 && guard < 100_000; guard++) {
      out.push(this.ptr(node + valueOff));
      node = this.ptr(node);
    }
    return out;
  }

  private nodeValueOffset: number | undefined;

  /** Offset of the mapped value (the thread pointer) inside a hash node of thread_map. */
  private threadNodeValueOffset(mapType: string): number {
    if (this.nodeValueOffset !== undefined) return this.nodeValueOffset;
    // The node type is not reachable from the map's members; it is named after the map's value type.
    const pairType = /std::allocator<(std::pair<.*>)\s*>\s*>$/.exec(mapType)?.[1];
    if (pairType === undefined) throw new LayoutError(`unexpected type of sched::thread_map: ${mapType}`);
    const nodeType = `std::__detail::_Hash_node<${pairType}, false>`;
    const storage = this.debug.member(nodeType, '_M_storage') ?? this.debug.member(`std::__detail::_Hash_node<${pairType}, true>`, '_M_storage');
    const second = this.debug.member(pairType, 'second');
    if (storage === undefined || second === undefined) throw new LayoutError(`the debug info has no layout for ${nodeType}`);
    this.nodeValueOffset = storage.offset + second.offset;
    return this.nodeValueOffset;
  }

  private threadLayout: ThreadLayout | null = null;

  private layoutOfThread(): ThreadLayout {
    if (this.threadLayout !== null) return this.threadLayout;
    const T = 'sched::thread';
    const ds = this.member(T, '_detached_state');
    const dsType = /^std::unique_ptr<([^,]+),/.exec(ds.baseTypeName)?.[1] ?? 'sched::thread::detached_state';
    // Status names from the DWARF's enumerators when the reader gives them, else §6's list.
    const names: string[] = [...THREAD_STATUS];
    const en = this.debug.enumerators?.('sched::thread::status');
    if (en !== undefined) for (const [name, v] of Object.entries(en)) names[v] = name;
    this.threadLayout = {
      statusNames: names,
      detached: ds.offset, st: this.member(dsType, 'st'), cpu: this.off(dsType, '_cpu'),
      id: this.member(T, '_id'), name: this.member(T, '_attr._name'), tcb: this.off(T, '_tcb'),
      stackBegin: this.off(T, '_attr._stack.begin'), stackSize: this.off(T, '_attr._stack.size'),
      rsp: this.off(T, '_state.rsp'), rbp: this.off(T, '_state.rbp'), rip: this.off(T, '_state.rip'),
    };
    return this.threadLayout;
  }

  /** Just the status of the thread at addr (thread() reads everything). */
  threadStatus(addr: number): string {
    const L = this.layoutOfThread();
    const ds = this.ptr(addr + L.detached);
    if (ds === 0) return 'unknown';
    const st = this.uint(ds, L.st);
    return L.statusNames[st] ?? `status ${st}`;
  }

  thread(addr: number): OsvThread {
    const L = this.layoutOfThread();
    const ds = this.ptr(addr + L.detached);
    let status = 'unknown';
    let cpu = -1;
    if (ds !== 0) {
      const st = this.uint(ds, L.st);
      status = L.statusNames[st] ?? `status ${st}`;
      cpu = this.cpus().indexOf(this.ptr(ds + L.cpu));
    }
    return {
      addr,
      id: this.uint(addr, L.id),
      name: this.text(addr, L.name),
      status,
      cpu,
      tcb: this.ptr(addr + L.tcb),
      stackBegin: this.ptr(addr + L.stackBegin),
      stackSize: this.ptr(addr + L.stackSize),
      rsp: this.ptr(addr + L.rsp),
      rbp: this.ptr(addr + L.rbp),
      rip: this.ptr(addr + L.rip),
    };
  }

  /** A thread's id, TCB and stack: fixed from its constructor on. */
  threadIdentity(addr: number): ThreadIdentity {
    const L = this.layoutOfThread();
    return {
      addr, id: this.uint(addr, L.id), tcb: this.ptr(addr + L.tcb),
      stackBegin: this.ptr(addr + L.stackBegin), stackSize: this.ptr(addr + L.stackSize),
    };
  }

  /**
   * A value that changes whenever a thread joins or leaves the thread map: its size, first node
   * and sched::thread::_s_idgen (every new thread takes a new id from it). Null when the kernel's
   * DWARF has no _s_idgen: membership then has to be read afresh.
   */
  threadMapVersion(): string | null {
    const gen = this.debug.variable('sched::thread::_s_idgen');
    if (gen === undefined || gen.location.kind !== 'address' || (gen.size !== 4 && gen.size !== 8)) return null;
    const mapType = this.variableType('sched::thread_map');
    const map = this.variableAddress('sched::thread_map');
    const count = this.ptr(map + this.off(mapType, '_M_h._M_element_count'));
    const first = this.ptr(map + this.off(mapType, '_M_h._M_before_begin._M_nxt'));
    const id = gen.size === 8 ? this.ptr(gen.location.address) : this.u32(gen.location.address);
    return `${count}:${first}:${id}`;
  }

  /** Every thread in the thread map, sorted by id. Throws LayoutError when it cannot be read. */
  threads(): OsvThread[] {
    return this.threadAddresses().map((a) => this.thread(a)).sort((a, b) => a.id - b.id);
  }

  // ---- thread-local storage ----------------------------------------------------------------------
  /**
   * Thread `thread`'s TLS block of ELF module `module` (sched::thread::_tls[module], what OSv's
   * thread::get_tls returns: a static block inside the thread's TLS area or one __tls_get_addr
   * allocated), 0 while the thread has none for that module.
   */
  tlsBlock(thread: number, module: number): number {
    const m = this.member('sched::thread', '_tls');
    const blocks = this.pointerVector(thread + m.offset, m.baseTypeName);
    return module < blocks.length ? blocks[module] : 0;
  }

  // ---- mapped areas --------------------------------------------------------------------------------
  /** mmu::vma_list (a boost intrusive rbtree), in address order: start, end, flags, perm. */
  vmas(): { start: number; end: number; flags: number; perm: number }[] {
    const listType = this.variableType('mmu::vma_list');
    const list = this.variableAddress('mmu::vma_list');
    // The root's place depends on the boost version (loader.py tries the same three).
    const rootPath = ['parent_', 'holder.root.parent_', 'tree_.data_.node_plus_pred_.header_plus_size_.header_.parent_']
      .find((p) => this.hasMember(listType, p));
    if (rootPath === undefined) throw new LayoutError(`unknown layout of ${listType}`);
    const hook = this.member('mmu::vma', '_vma_list_hook');
    const node = /^(.*) \*$/.exec(this.member(listType, rootPath).baseTypeName)?.[1] ?? 'boost::intrusive::rbtree_node<void*>';
    const left = this.off(node, 'left_');
    const right = this.off(node, 'right_');
    const start = this.member('mmu::vma', '_range._start');
    const end = this.member('mmu::vma', '_range._end');
    const flags = this.member('mmu::vma', '_flags');
    const perm = this.member('mmu::vma', '_perm');
    const out: { start: number; end: number; flags: number; perm: number }[] = [];
    const stack: number[] = [];
    let n = this.ptr(list + this.off(listType, rootPath));
    while ((n !== 0 || stack.length > 0) && out.length < 1_000_000) {
      while (n !== 0) {
        stack.push(n);
        n = this.ptr(n + left);
      }
      n = stack.pop()!;
      const v = n - hook.offset;
      out.push({ start: this.uint(v, start), end: this.uint(v, end), flags: this.uint(v, flags), perm: this.uint(v, perm) });
      n = this.ptr(n + right);
    }
    return out;
  }

  // ---- loaded objects ----------------------------------------------------------------------------
  /** Address of elf::program::s_objs's end pointer: it changes whenever an object is added or removed. */
  objectListEndAddress(): number {
    const type = this.variableType('elf::program::s_objs');
    return this.variableAddress('elf::program::s_objs') + this.off(type, '_M_impl._M_finish');
  }

  objects(): OsvObject[] {
    const type = this.variableType('elf::program::s_objs');
    const list = this.pointerVector(this.variableAddress('elf::program::s_objs'), type);
    const O = 'elf::object';
    return list.filter((a) => a !== 0).map((addr) => ({
      addr,
      base: this.ptr(addr + this.off(O, '_base')),
      end: this.hasMember(O, '_end') ? this.ptr(addr + this.off(O, '_end')) : 0,
      path: this.text(addr, this.member(O, '_pathname')),
      dynamic: this.hasMember(O, '_dynamic_table') ? this.ptr(addr + this.off(O, '_dynamic_table')) : 0,
    }));
  }

  /**
   * The kernel's own elf::object (elf::s_program->_core, a shared_ptr in OSv), 0 when unknown.
   * OSv does not list it in s_objs; osvlike does, first.
   */
  coreObject(): number {
    const v = this.debug.variable('elf::s_program');
    if (v === undefined || v.location.kind !== 'address') return 0;
    const program = this.ptr(v.location.address);
    if (program === 0) return 0;
    const core = this.member('elf::program', '_core');
    const inner = core.pointee === undefined ? this.debug.member(core.baseTypeName, '_M_ptr') : undefined;
    return this.ptr(program + core.offset + (inner?.offset ?? 0));
  }

  /** elf::object::_module_index: the object's index in every thread's _tls. */
  moduleIndex(object: number): number {
    return this.uint(object, this.member('elf::object', '_module_index'));
  }
}
