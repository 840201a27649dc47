// Public Node API: build and run machines from test suites.
export { Machine, MachineError } from './machine/machine.js';
export type { MachineOptions, RunLimits, RunResult, StopCause, MachineState } from './machine/machine.js';
export { Cpu } from './cpu/cpu.js';
export { type CpuVendor, type CpuVendorName, INTEL, AMD, cpuVendor } from './cpu/vendor.js';
export { ElfError } from './machine/elf.js';
export { buildGuest } from './cli/guest.js';
export { runOsvTests, runTestPlan } from './osv/test-runner.js';
export type { OsvTestResult, OsvTestEvent, RunOsvTestsOptions, OsvRunOptions } from './osv/test-runner.js';
export { planOsvTests, shardOf, OsvTestError } from './osv/test-list.js';
export type { OsvTest, TestPlan, TestSelection } from './osv/test-list.js';
export type { OsvTestOutcome } from './osv/test-outcome.js';
export { junitXml } from './osv/junit.js';
export { openDisk, parseDiskSpec, openImage, type DiskSpec, type DiskMode } from './devices/backends/disk-open.js';
export { DiskError, type BlockBackend } from './devices/backends/block.js';
export { SeededEntropy, HostEntropy, entropyFrom, type EntropySource } from './devices/backends/entropy.js';
export type { DiskAttachment, VirtioMachineOptions } from './machine/virtio-models.js';
export type { VirtioDeviceModel, VirtioDeviceContext, GuestMemory } from './devices/virtio/device.js';
export { VirtioPciDevice } from './devices/virtio/pci-transport.js';
// Networking: back ends for MachineOptions.net (a test can be the peer with CallbackBackend).
export type { NetBackend, FrameSink, BackendEvents } from './devices/net/backend.js';
export { StreamBackend, type StreamAddress } from './devices/net/stream.js';
export { PasstBackend, findPasst, type UserNetOptions, type HostForward } from './devices/net/passt.js';
export { NetHub, HubPort } from './devices/net/hub.js';
export { CallbackBackend, type CallbackOptions } from './devices/net/callback.js';
export { ReplayBackend, readNetLog, type NetLogEntry } from './devices/net/netlog.js';
export { readPcap, type PcapRecord } from './devices/net/pcap.js';
export { parseNetSpec, openNetBackend, NetSpecError, type NetSpec } from './devices/net/spec.js';
export type { NetAttachment, NetMachineOptions } from './machine/net.js';
