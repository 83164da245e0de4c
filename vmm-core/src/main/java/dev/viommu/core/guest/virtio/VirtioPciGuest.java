package dev.viommu.core.guest.virtio;

import dev.viommu.core.guest.GuestMachine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Linux drivers/virtio/virtio_pci_modern.c with virtio_pci_modern_dev.c and virtio_pci_common.c, plus the PCI
 * core steps they rely on (BAR sizing and assignment as firmware does it, pci_enable_device, pci_set_master,
 * MSI-X set-up as msix_capability_init does it). Everything is read from PCI configuration space (data-plane
 * region 0xFF): the capability list is walked like virtio_pci_find_capability, nothing is handed over out of
 * band.
 * <p>
 * The one thing a guest cannot see is how the hypervisor routes a BAR to a data-plane region: {@code barRouting}
 * (BAR number → region index) stands for it, as the hypervisor derives it from {@code PciFunction.bars()}.
 * The guest itself only computes guest-physical addresses inside its BARs, like pci_iomap.
 */
public final class VirtioPciGuest implements VirtioConfigOps {
    public static final int CONFIG_REGION = 0xFF;
    // pci_regs.h
    public static final int PCI_VENDOR_ID = 0x00, PCI_DEVICE_ID = 0x02, PCI_COMMAND = 0x04, PCI_STATUS = 0x06,
            PCI_REVISION_ID = 0x08, PCI_CLASS_PROG = 0x09, PCI_HEADER_TYPE = 0x0e, PCI_BASE_ADDRESS_0 = 0x10,
            PCI_SUBSYSTEM_VENDOR_ID = 0x2c, PCI_CAPABILITY_LIST = 0x34, PCI_INTERRUPT_PIN = 0x3d;
    static final int PCI_COMMAND_MEMORY = 0x2, PCI_COMMAND_MASTER = 0x4, PCI_STATUS_CAP_LIST = 0x10;
    static final int PCI_CAP_ID_VNDR = 0x09, PCI_CAP_ID_MSIX = 0x11;
    static final int PCI_MSIX_FLAGS = 2, PCI_MSIX_TABLE = 4, PCI_MSIX_FLAGS_QSIZE = 0x7FF,
            PCI_MSIX_FLAGS_MASKALL = 0x4000, PCI_MSIX_FLAGS_ENABLE = 0x8000, PCI_MSIX_ENTRY_SIZE = 16;
    static final int PCI_FIND_CAP_TTL = 48;
    // virtio_pci.h: capability types and struct virtio_pci_cap fields
    static final int VIRTIO_PCI_CAP_COMMON_CFG = 1, VIRTIO_PCI_CAP_NOTIFY_CFG = 2, VIRTIO_PCI_CAP_ISR_CFG = 3,
            VIRTIO_PCI_CAP_DEVICE_CFG = 4, VIRTIO_PCI_CAP_PCI_CFG = 5;
    static final int CAP_CFG_TYPE = 3, CAP_BAR = 4, CAP_OFFSET = 8, CAP_LENGTH = 12, NOTIFY_OFF_MULTIPLIER = 16,
            PCI_CFG_DATA = 16;
    // struct virtio_pci_common_cfg
    static final int DFSELECT = 0, DF = 4, GFSELECT = 8, GF = 12, MSIX_CONFIG = 16, NUM_QUEUES = 18,
            DEVICE_STATUS = 20, Q_SELECT = 22, Q_SIZE = 24, Q_MSIX = 26, Q_ENABLE = 28, Q_NOFF = 30, Q_DESCLO = 32,
            Q_DESCHI = 36, Q_AVAILLO = 40, Q_AVAILHI = 44, Q_USEDLO = 48, Q_USEDHI = 52;
    static final int COMMON_CFG_MIN = 56;              // sizeof(struct virtio_pci_common_cfg)
    public static final int VIRTIO_MSI_NO_VECTOR = 0xFFFF;
    /** x86 MSI address (the interrupt controller's window); data = the vector number, so the handler knows who fired. */
    public static final long MSI_ADDRESS = 0xFEE0_0000L;
    /** Where firmware places the BARs (a 32-bit MMIO window below 4 GiB, as SeaBIOS does). */
    static final long MMIO_WINDOW = 0xE000_0000L;

    /** A virtio structure found through its capability: BAR, offset and length inside it (vp_modern_map_capability). */
    public record Mapped(int capOffset, int bar, long offset, long length) {}

    private final GuestMachine m;
    private final Map<Integer, Integer> barRouting;
    private final boolean useMsix;
    private final long[] barBase = new long[6];
    private final long[] barSize = new long[6];
    private Mapped common, notify, isr, device;
    private int pciCfgCap = -1;
    private int notifyOffMultiplier;
    private int deviceId;
    private int msixCap = -1;
    private int msixVectors;
    private final int[] queueVector = new int[16];
    private final List<String> log = new ArrayList<>();

    public VirtioPciGuest(final GuestMachine m, final Map<Integer, Integer> barRouting, final boolean useMsix) {
        this.m = m;
        this.barRouting = barRouting;
        this.useMsix = useMsix;
        java.util.Arrays.fill(queueVector, VIRTIO_MSI_NO_VECTOR);
    }

    // ---------------------------------------------------------------- configuration space

    public long cfgRead(final int off, final int size) { return m.mmioRead(CONFIG_REGION, off, size); }

    public void cfgWrite(final int off, final int size, final long v) { m.mmioWrite(CONFIG_REGION, off, size, v); }

    // ---------------------------------------------------------------- firmware and the PCI core

    /**
     * What firmware and pci_setup_device do before any driver runs: read the IDs, size each BAR (write all ones,
     * read back the writable bits) and assign it an address in the MMIO window, then pci_enable_device (memory
     * decoding) and pci_set_master (bus mastering, which virtio_pci_probe does).
     */
    public void enumerate() {
        if ((cfgRead(PCI_HEADER_TYPE, 1) & 0x7F) != 0) throw new IllegalStateException("not a type-0 header");
        long next = MMIO_WINDOW;
        for (int bar = 0; bar < 6; bar++) {
            final int off = PCI_BASE_ADDRESS_0 + 4 * bar;
            final long orig = cfgRead(off, 4);
            if ((orig & 1) != 0) continue;                         // I/O BAR: none here
            final boolean is64 = ((orig >>> 1) & 3) == 2;
            cfgWrite(off, 4, 0xFFFF_FFFFL);
            long mask = cfgRead(off, 4) & ~0xFL;
            if (is64) {
                cfgWrite(off + 4, 4, 0xFFFF_FFFFL);
                mask |= cfgRead(off + 4, 4) << 32;
            } else {
                mask |= 0xFFFF_FFFF_0000_0000L;
            }
            if ((mask & 0xFFFF_FFFFL) == 0 && !is64) { cfgWrite(off, 4, orig); continue; }   // unimplemented BAR
            final long size = -mask;                               // lowest writable address bit
            if (size <= 0) { cfgWrite(off, 4, orig); if (is64) cfgWrite(off + 4, 4, 0); continue; }
            final long base = (next + size - 1) & -size;
            next = base + size;
            cfgWrite(off, 4, base & 0xFFFF_FFFFL);
            if (is64) cfgWrite(off + 4, 4, base >>> 32);
            barBase[bar] = base;
            barSize[bar] = size;
            log.add("BAR" + bar + " " + (is64 ? "64-bit" : "32-bit") + " size 0x" + Long.toHexString(size)
                    + " at 0x" + Long.toHexString(base));
            if (is64) bar++;
        }
        final long cmd = cfgRead(PCI_COMMAND, 2);
        cfgWrite(PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    }

    /** What firmware found, for narration. */
    public List<String> enumerationLog() { return log; }

    public long barSize(final int bar) { return barSize[bar]; }

    /** An access at a guest-physical address inside a BAR, routed the way the hypervisor routes it. */
    private long mmioRead(final long gpa, final int size) {
        for (int b = 0; b < 6; b++) {
            if (barSize[b] != 0 && gpa >= barBase[b] && gpa + size <= barBase[b] + barSize[b]) {
                return m.mmioRead(barRouting.get(b), gpa - barBase[b], size);
            }
        }
        throw new IllegalStateException("no BAR at 0x" + Long.toHexString(gpa));
    }

    private void mmioWrite(final long gpa, final int size, final long v) {
        for (int b = 0; b < 6; b++) {
            if (barSize[b] != 0 && gpa >= barBase[b] && gpa + size <= barBase[b] + barSize[b]) {
                m.mmioWrite(barRouting.get(b), gpa - barBase[b], size, v);
                return;
            }
        }
        throw new IllegalStateException("no BAR at 0x" + Long.toHexString(gpa));
    }

    /** pci_find_capability / pci_find_next_capability: walk the list from {@code start}, at most 48 hops. */
    int findCapability(final int start, final int id) {
        int pos = start;
        for (int ttl = PCI_FIND_CAP_TTL; ttl > 0 && pos >= 0x40; ttl--) {
            pos &= ~3;
            final int capId = (int) cfgRead(pos, 1);
            if (capId == 0xFF) break;
            if (capId == id) return pos;
            pos = (int) cfgRead(pos + 1, 1);
        }
        return 0;
    }

    int firstCapability(final int id) {
        if ((cfgRead(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) == 0) return 0;
        return findCapability((int) cfgRead(PCI_CAPABILITY_LIST, 1), id);
    }

    /** virtio_pci_find_capability: the first vendor capability of {@code cfgType} whose BAR is implemented. */
    int findVirtioCapability(final int cfgType) {
        for (int pos = firstCapability(PCI_CAP_ID_VNDR); pos > 0;
             pos = findCapability((int) cfgRead(pos + 1, 1), PCI_CAP_ID_VNDR)) {
            final int type = (int) cfgRead(pos + CAP_CFG_TYPE, 1);
            final int bar = (int) cfgRead(pos + CAP_BAR, 1);
            if (bar >= 6) continue;                                // reserved BAR values are ignored
            if (type == cfgType && barSize[bar] != 0) return pos;
        }
        return 0;
    }

    /** vp_modern_map_capability: bar/offset/length checks against the BAR, alignment, and {@code minlen}. */
    private Mapped mapCapability(final int off, final long minlen, final int align, final long size) {
        final int bar = (int) cfgRead(off + CAP_BAR, 1);
        final long offset = cfgRead(off + CAP_OFFSET, 4);
        long length = cfgRead(off + CAP_LENGTH, 4);
        if (bar >= 6 || barSize[bar] == 0) throw new IllegalStateException("virtio_pci: bar unexpectedly changed to " + bar);
        if (length < minlen) throw new IllegalStateException("virtio_pci: bad capability len " + length);
        if ((offset & (align - 1)) != 0) throw new IllegalStateException("virtio_pci: offset " + offset + " not aligned to " + align);
        if (length > size) length = size;
        if (minlen + offset > barSize[bar]) {
            throw new IllegalStateException("virtio_pci: map virtio " + minlen + "@" + offset + " out of range on bar " + bar);
        }
        return new Mapped(off, bar, offset, length);
    }

    /**
     * virtio_pci_probe → virtio_pci_modern_probe → vp_modern_probe: the vendor and device IDs (modern: device
     * 0x1040 + virtio ID), then COMMON, ISR, NOTIFY (required) and DEVICE capabilities from the list, each mapped
     * with its checks, and notify_off_multiplier. Also finds the PCI_CFG access capability (virtio_pci_modern_probe
     * keeps its offset for the config-window accessor).
     */
    public void probe() {
        final int vendor = (int) cfgRead(PCI_VENDOR_ID, 2);
        if (vendor != 0x1AF4) throw new IllegalStateException("not a virtio vendor ID: 0x" + Integer.toHexString(vendor));
        final int dev = (int) cfgRead(PCI_DEVICE_ID, 2);
        if (dev < 0x1000 || dev > 0x107F) throw new IllegalStateException("device ID 0x" + Integer.toHexString(dev) + " is not virtio");
        if (dev < 0x1040) throw new IllegalStateException("transitional device: not driven here");
        deviceId = dev - 0x1040;
        final int commonOff = findVirtioCapability(VIRTIO_PCI_CAP_COMMON_CFG);
        if (commonOff == 0) throw new IllegalStateException("virtio_pci: leaving for legacy driver");
        final int isrOff = findVirtioCapability(VIRTIO_PCI_CAP_ISR_CFG);
        final int notifyOff = findVirtioCapability(VIRTIO_PCI_CAP_NOTIFY_CFG);
        if (isrOff == 0 || notifyOff == 0) throw new IllegalStateException("virtio_pci: missing capabilities");
        final int deviceOff = findVirtioCapability(VIRTIO_PCI_CAP_DEVICE_CFG);
        common = mapCapability(commonOff, COMMON_CFG_MIN, 4, 64);
        isr = mapCapability(isrOff, 1, 1, 1);
        notifyOffMultiplier = (int) cfgRead(notifyOff + NOTIFY_OFF_MULTIPLIER, 4);
        notify = mapCapability(notifyOff, 2, 2, cfgRead(notifyOff + CAP_LENGTH, 4));
        if (deviceOff != 0) device = mapCapability(deviceOff, 0, 4, 4096);
        // virtio_pci_modern_probe: "vp_dev->mdev.pci_cfg" isn't kept by Linux 7.3; the capability is located the
        // same way for the config-window accessor below (virtio 1.2 §4.1.4.9).
        for (int pos = firstCapability(PCI_CAP_ID_VNDR); pos > 0; pos = findCapability((int) cfgRead(pos + 1, 1), PCI_CAP_ID_VNDR)) {
            if (cfgRead(pos + CAP_CFG_TYPE, 1) == VIRTIO_PCI_CAP_PCI_CFG) { pciCfgCap = pos; break; }
        }
    }

    public Mapped common() { return common; }

    public Mapped notifyCap() { return notify; }

    public Mapped isrCap() { return isr; }

    public Mapped deviceCap() { return device; }

    public int notifyOffMultiplier() { return notifyOffMultiplier; }

    public int pciCfgCapability() { return pciCfgCap; }

    /**
     * A read through the VIRTIO_PCI_CAP_PCI_CFG window (§4.1.4.9): select BAR, offset and length in the
     * capability, then read pci_cfg_data. What firmware without BAR mappings uses.
     */
    public long windowRead(final int bar, final long offset, final int length) {
        if (pciCfgCap < 0) throw new IllegalStateException("no PCI_CFG capability");
        cfgWrite(pciCfgCap + CAP_BAR, 1, bar);
        cfgWrite(pciCfgCap + CAP_OFFSET, 4, offset);
        cfgWrite(pciCfgCap + CAP_LENGTH, 4, length);
        return cfgRead(pciCfgCap + PCI_CFG_DATA, 4) & (length == 4 ? 0xFFFF_FFFFL : (1L << (8 * length)) - 1);
    }

    /** A write through the PCI_CFG window. */
    public void windowWrite(final int bar, final long offset, final int length, final long value) {
        if (pciCfgCap < 0) throw new IllegalStateException("no PCI_CFG capability");
        cfgWrite(pciCfgCap + CAP_BAR, 1, bar);
        cfgWrite(pciCfgCap + CAP_OFFSET, 4, offset);
        cfgWrite(pciCfgCap + CAP_LENGTH, 4, length);
        cfgWrite(pciCfgCap + PCI_CFG_DATA, 4, value);
    }

    // ---------------------------------------------------------------- MSI-X (msix_capability_init)

    /**
     * pci_alloc_irq_vectors(PCI_IRQ_MSIX) → msix_capability_init: read the table size and location, set Enable
     * with Function Mask, program each entry (address, data = vector, unmasked), then clear Function Mask.
     * Returns the number of vectors.
     */
    public int enableMsix(final int wanted) {
        msixCap = firstCapability(PCI_CAP_ID_MSIX);
        if (msixCap == 0) throw new IllegalStateException("no MSI-X capability");
        final int ctrl = (int) cfgRead(msixCap + PCI_MSIX_FLAGS, 2);
        final int tableSize = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
        final long tbl = cfgRead(msixCap + PCI_MSIX_TABLE, 4);
        final int bir = (int) (tbl & 7);
        final long table = barBase[bir] + (tbl & ~7L);
        msixVectors = Math.min(wanted, tableSize);
        cfgWrite(msixCap + PCI_MSIX_FLAGS, 2, ctrl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
        for (int v = 0; v < msixVectors; v++) {
            final long e = table + (long) PCI_MSIX_ENTRY_SIZE * v;
            mmioWrite(e, 4, MSI_ADDRESS);
            mmioWrite(e + 4, 4, 0);
            mmioWrite(e + 8, 4, v);
            mmioWrite(e + 12, 4, 0);                               // vector control: unmasked
        }
        cfgWrite(msixCap + PCI_MSIX_FLAGS, 2, (cfgRead(msixCap + PCI_MSIX_FLAGS, 2) & ~PCI_MSIX_FLAGS_MASKALL) | PCI_MSIX_FLAGS_ENABLE);
        return msixVectors;
    }

    /** Masks or unmasks one MSI-X table entry (pci_msix_mask / unmask). */
    public void maskVector(final int v, final boolean masked) {
        final long tbl = cfgRead(msixCap + PCI_MSIX_TABLE, 4);
        mmioWrite(barBase[(int) (tbl & 7)] + (tbl & ~7L) + (long) PCI_MSIX_ENTRY_SIZE * v + 12, 4, masked ? 1 : 0);
    }

    /** Sets or clears Function Mask in MSI-X Message Control. */
    public void functionMask(final boolean masked) {
        final long ctrl = cfgRead(msixCap + PCI_MSIX_FLAGS, 2);
        cfgWrite(msixCap + PCI_MSIX_FLAGS, 2, masked ? ctrl | PCI_MSIX_FLAGS_MASKALL : ctrl & ~PCI_MSIX_FLAGS_MASKALL);
    }

    public boolean msixEnabled() { return msixCap > 0 && (cfgRead(msixCap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE) != 0; }

    // ---------------------------------------------------------------- virtio_config_ops

    private long commonRead(final int off, final int size) { return mmioRead(barBase[common.bar()] + common.offset() + off, size); }

    private void commonWrite(final int off, final int size, final long v) { mmioWrite(barBase[common.bar()] + common.offset() + off, size, v); }

    @Override public int deviceId() { return deviceId; }

    @Override public String name() { return useMsix ? "virtio-pci (MSI-X)" : "virtio-pci (INTx)"; }

    @Override
    public long getFeatures() {                      // vp_modern_get_extended_features: 32 bits per select
        long f = 0;
        for (int i = 0; i < 4; i++) {
            commonWrite(DFSELECT, 4, i);
            final long w = commonRead(DF, 4);
            if (i < 2) f |= w << (32 * i);
        }
        return f;
    }

    @Override
    public void finalizeFeatures(final long f) {     // vp_finalize_features → vp_modern_set_extended_features
        for (int i = 0; i < 4; i++) {
            commonWrite(GFSELECT, 4, i);
            commonWrite(GF, 4, i < 2 ? (f >>> (32 * i)) & 0xFFFF_FFFFL : 0);
        }
    }

    @Override public int getStatus() { return (int) commonRead(DEVICE_STATUS, 1); }

    @Override public void setStatus(final int s) { commonWrite(DEVICE_STATUS, 1, s); }

    @Override
    public void reset() {                            // vp_reset: write 0, wait until it reads 0
        commonWrite(DEVICE_STATUS, 1, 0);
        for (int i = 0; i < 1000 && getStatus() != 0; i++) Thread.onSpinWait();
        if (getStatus() != 0) throw new IllegalStateException("device did not reset");
    }

    @Override
    public long readConfig(final int off, final int size) {        // vp_get
        return mmioRead(barBase[device.bar()] + device.offset() + off, size);
    }

    @Override
    public void writeConfig(final int off, final int size, final long v) {
        mmioWrite(barBase[device.bar()] + device.offset() + off, size, v);
    }

    public int numQueues() { return (int) commonRead(NUM_QUEUES, 2); }

    @Override
    public int queueMax(final int q) {
        commonWrite(Q_SELECT, 2, q);
        return (int) commonRead(Q_SIZE, 2);
    }

    /** vp_find_vqs_msix: the configuration-change vector (vp_modern_config_vector writes and reads it back). */
    public boolean setConfigVector(final int v) {
        commonWrite(MSIX_CONFIG, 2, v);
        return commonRead(MSIX_CONFIG, 2) == v;
    }

    @Override
    public boolean setupQueue(final int q, final int size, final long desc, final long avail, final long used) {
        if (q >= numQueues()) return false;                          // setup_vq: -ENOENT
        commonWrite(Q_SELECT, 2, q);
        final int num = (int) commonRead(Q_SIZE, 2);
        if (num == 0 || commonRead(Q_ENABLE, 2) != 0) return false;
        if (Integer.bitCount(size) != 1) return false;               // "bad queue size"
        commonWrite(Q_SIZE, 2, size);                                  // vp_modern_set_queue_size
        commonWrite(Q_DESCLO, 4, desc & 0xFFFF_FFFFL);                 // vp_modern_queue_address
        commonWrite(Q_DESCHI, 4, desc >>> 32);
        commonWrite(Q_AVAILLO, 4, avail & 0xFFFF_FFFFL);
        commonWrite(Q_AVAILHI, 4, avail >>> 32);
        commonWrite(Q_USEDLO, 4, used & 0xFFFF_FFFFL);
        commonWrite(Q_USEDHI, 4, used >>> 32);
        if (useMsix) {
            final int vec = q + 1;                                     // vector 0 is the config vector
            commonWrite(Q_MSIX, 2, vec);                               // vp_modern_queue_vector, read back
            if (commonRead(Q_MSIX, 2) == VIRTIO_MSI_NO_VECTOR) return false;   // -EBUSY
            queueVector[q] = vec;
        }
        commonWrite(Q_ENABLE, 2, 1);                                   // vp_modern_set_queue_enable
        return commonRead(Q_ENABLE, 2) == 1;
    }

    /** The notification address of queue {@code q}: notify base + queue_notify_off × notify_off_multiplier. */
    public long notifyAddress(final int q) {
        commonWrite(Q_SELECT, 2, q);
        final long off = commonRead(Q_NOFF, 2) * notifyOffMultiplier;
        if (off + 2 > notify.length()) throw new IllegalStateException("notify offset " + off + " outside the notify area");
        return barBase[notify.bar()] + notify.offset() + off;
    }

    @Override
    public void notify(final int q) { mmioWrite(notifyAddress(q), 2, q); }   // vp_notify: iowrite16(queue index)

    @Override
    public int interruptCauses(final int msiData) {
        if (msiData < 0) {                            // vp_interrupt: reading the ISR acknowledges it
            if (useMsix) return -1;
            return (int) mmioRead(barBase[isr.bar()] + isr.offset(), 1);
        }
        if (!useMsix) return -1;
        return msiData == 0 ? 2 : 1;                  // vp_config_changed / vp_vring_interrupt per vector
    }

    @Override
    public boolean interruptForQueue(final int msiData, final int q) {
        return msiData < 0 || queueVector[q] == msiData;
    }

    public Map<String, Object> describe() {
        final Map<String, Object> d = new LinkedHashMap<>();
        d.put("common", common);
        d.put("isr", isr);
        d.put("notify", notify);
        d.put("device", device);
        d.put("notify_off_multiplier", notifyOffMultiplier);
        d.put("pci_cfg", pciCfgCap);
        return d;
    }
}
