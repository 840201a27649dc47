/**
 * Numbers from the virtio 1.2 specification (and the legacy 0.9.5 PCI layout) shared by the
 * transport and the device models.
 */

/** Device status bits (the guest writes them; 0 resets the device). */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

/** Feature bits below 32 that belong to the ring / transport, not to a device type. */
export const F_NOTIFY_ON_EMPTY = 24;
export const F_ANY_LAYOUT = 27;
export const F_RING_INDIRECT_DESC = 28;
export const F_RING_EVENT_IDX = 29;
/** Feature bits 32 and up, given as bit - 32 of the high word. */
export const F_HI_VERSION_1 = 0;

/** Virtio device types (the subsystem ID of a transitional device, 0x1040 + type for modern). */
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_RNG = 4;

export const VIRTIO_PCI_VENDOR = 0x1af4;
/** Transitional device IDs by type (the legacy range 0x1000-0x103f). */
export const TRANSITIONAL_DEVICE_ID: Record<number, number> = { 1: 0x1000, 2: 0x1001, 3: 0x1003, 4: 0x1005, 5: 0x1002, 8: 0x1004, 9: 0x1009 };

/** Split-ring descriptor flags. */
export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;
/** avail.flags: the driver does not want interrupts (ignored when EVENT_IDX is negotiated). */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;
/** used.flags: the device does not need kicks (ignored when EVENT_IDX is negotiated). */
export const VRING_USED_F_NO_NOTIFY = 1;

/** MSI-X "no vector" for the config and queue vector registers. */
export const NO_VECTOR = 0xffff;

/** ISR status bits (legacy register and modern ISR capability). */
export const ISR_QUEUE = 1;
export const ISR_CONFIG = 2;

/** Legacy I/O BAR0 register offsets (virtio 0.9.5 / spec 4.1.4.8). */
export const LEGACY_HOST_FEATURES = 0x00;
export const LEGACY_GUEST_FEATURES = 0x04;
export const LEGACY_QUEUE_PFN = 0x08;
export const LEGACY_QUEUE_NUM = 0x0c;
export const LEGACY_QUEUE_SEL = 0x0e;
export const LEGACY_QUEUE_NOTIFY = 0x10;
export const LEGACY_STATUS = 0x12;
export const LEGACY_ISR = 0x13;
/** Present only while MSI-X is enabled; the device config then starts at 0x18 instead of 0x14. */
export const LEGACY_MSI_CONFIG_VECTOR = 0x14;
export const LEGACY_MSI_QUEUE_VECTOR = 0x16;
export const LEGACY_CONFIG = 0x14;
export const LEGACY_CONFIG_MSIX = 0x18;
/** Legacy queues are placed by page frame number in 4 KiB units, the used ring 4 KiB-aligned. */
export const LEGACY_QUEUE_ALIGN = 4096;

/** Modern PCI capability types (struct virtio_pci_cap.cfg_type). */
export const PCI_CAP_COMMON_CFG = 1;
export const PCI_CAP_NOTIFY_CFG = 2;
export const PCI_CAP_ISR_CFG = 3;
export const PCI_CAP_DEVICE_CFG = 4;
export const PCI_CAP_PCI_CFG = 5;
