// Public surface of the gdb stub.
export * from './target.js';
export { REGISTERS, REG, REGISTER_NAMES, REGISTER_COUNT, G_PACKET_BYTES, TARGET_XML, type RegisterDesc, type RegisterName } from './tdesc.js';
export { VcpuThreadProvider } from './vcpu-threads.js';
export { GdbSession, DEFAULT_PACKET_SIZE, type SessionOptions } from './session.js';
export { GdbServer, type GdbServerOptions } from './server.js';
export { parseGdbAddress, DEFAULT_GDB_HOST, DEFAULT_GDB_PORT, type GdbAddress } from './address.js';
