package dev.viommu.virtio.transport;

import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.PciFunction;
import dev.viommu.virtio.spec.PciConfig;
import dev.viommu.virtio.spec.VirtioPciCap;

import java.util.ArrayList;
import java.util.List;

/**
 * The configuration space of the virtio-pci function (PCI Local Bus 3.0 §6.1 type-0 header; virtio 1.2 §4.1.4):
 * bytes plus a per-byte write mask, as QEMU's {@code config}/{@code wmask} arrays. The header carries the
 * virtio IDs and the BARs (sized by the mask: write all ones, read back the size); the capability chain at
 * {@link PciConfig#CAP_START} holds the virtio vendor capabilities of {@link PciLayout} (common, ISR, device,
 * notify with notify_off_multiplier, the PCI_CFG access window) and then MSI-X. Writes with side effects: the
 * Command register's INTx Disable, MSI-X Message Control (Enable, Function Mask) and the PCI_CFG window's data,
 * which performs the access on the selected BAR (§4.1.4.9).
 * <p>
 * The hypervisor owns bus-level state (where BARs sit in guest-physical space, memory/bus-master enables); those
 * writes are kept so that reads return them, and otherwise do not change the device.
 */
public final class PciConfigSpace implements PciFunction {
    /** What config writes change in the function. */
    public interface Listener {
        void msixControl(boolean enable, boolean functionMask);

        void intxDisable(boolean disabled);
    }

    private final byte[] cfg = new byte[CONFIG_SIZE];
    private final byte[] wmask = new byte[CONFIG_SIZE];
    private final byte[] reset;
    private final PciLayout layout;
    private final List<MmioRegion> regions;
    private final Listener listener;
    private final RateLimitedLog log;
    private final int msixCap;
    private final int pciCfgCap;
    private final List<Bar> bars;

    public PciConfigSpace(final PciLayout layout, final List<MmioRegion> regions, final Listener listener,
                          final RateLimitedLog log) {
        this.layout = layout;
        this.regions = regions;
        this.listener = listener;
        this.log = log;
        put16(PciConfig.VENDOR_ID, layout.vendorId());
        put16(PciConfig.DEVICE_ID, layout.deviceId());
        put16(PciConfig.STATUS, PciConfig.STATUS_CAP_LIST);
        cfg[PciConfig.REVISION_ID] = (byte) layout.revision();
        cfg[PciConfig.CLASS_PROG] = (byte) layout.classCode();
        cfg[PciConfig.CLASS_PROG + 1] = (byte) (layout.classCode() >>> 8);
        cfg[PciConfig.CLASS_PROG + 2] = (byte) (layout.classCode() >>> 16);
        cfg[PciConfig.HEADER_TYPE] = 0;
        put16(PciConfig.SUBSYSTEM_VENDOR_ID, layout.subsystemVendorId());
        put16(PciConfig.SUBSYSTEM_ID, layout.subsystemId());
        cfg[PciConfig.INTERRUPT_PIN] = 1;                          // INTA#
        put16mask(PciConfig.COMMAND, PciConfig.COMMAND_WRITABLE);
        wmask[PciConfig.CACHE_LINE_SIZE] = (byte) 0xFF;
        wmask[PciConfig.LATENCY_TIMER] = (byte) 0xFF;
        wmask[PciConfig.INTERRUPT_LINE] = (byte) 0xFF;

        final List<Bar> b = new ArrayList<>();
        for (PciLayout.Bar bar : layout.bars()) {
            final int off = PciConfig.BAR0 + 4 * bar.bar();
            final int flags = (bar.is64Bit() ? PciConfig.BAR_MEM_TYPE_64 : 0) | (bar.prefetchable() ? PciConfig.BAR_PREFETCH : 0);
            put32(off, flags);
            put32mask(off, (int) -bar.size());                     // address bits above the size: writable
            if (bar.is64Bit()) put32mask(off + 4, -1);
            b.add(new Bar(bar.bar(), bar.region(), bar.size(), bar.is64Bit(), bar.prefetchable()));
        }
        this.bars = List.copyOf(b);

        // The capability chain: the virtio capabilities in PciLayout order, then MSI-X.
        int pos = PciConfig.CAP_START;
        cfg[PciConfig.CAPABILITIES_POINTER] = (byte) pos;
        int pciCfg = -1;
        final List<PciCapability> caps = layout.capabilities();
        for (PciCapability c : caps) {
            final byte[] bytes = c.toConfigBytes();
            System.arraycopy(bytes, 0, cfg, pos, bytes.length);
            final int next = pos + ((bytes.length + 3) & ~3);
            cfg[pos + 1] = (byte) next;
            if (c.cfgType() == VirtioPciCap.PCI_CFG) {
                pciCfg = pos;
                // §4.1.4.9: the driver selects bar, offset and length, then reads or writes pci_cfg_data.
                wmask[pos + VirtioPciCap.CAP_BAR] = (byte) 0xFF;
                put32mask(pos + VirtioPciCap.CAP_OFFSET, -1);
                put32mask(pos + VirtioPciCap.CAP_LENGTH, -1);
                put32mask(pos + VirtioPciCap.PCI_CFG_DATA, -1);
            }
            pos = next;
        }
        this.pciCfgCap = pciCfg;
        this.msixCap = pos;
        final PciLayout.Msix m = layout.msix();
        cfg[pos] = (byte) VirtioPciCap.PCI_CAP_ID_MSIX;
        cfg[pos + 1] = 0;                                            // end of the list
        put16(pos + PciConfig.MSIX_FLAGS, m.tableSize() - 1);
        put16mask(pos + PciConfig.MSIX_FLAGS, PciConfig.MSIX_FLAGS_ENABLE | PciConfig.MSIX_FLAGS_MASKALL);
        put32(pos + PciConfig.MSIX_TABLE, (int) m.tableOffset() | m.tableBar());
        put32(pos + PciConfig.MSIX_PBA, (int) m.pbaOffset() | m.pbaBar());
        reset = cfg.clone();
    }

    /** Offset of the MSI-X capability. */
    public int msixCapability() { return msixCap; }

    /** Offset of the VIRTIO_PCI_CAP_PCI_CFG capability. */
    public int pciCfgCapability() { return pciCfgCap; }

    /** Back to power-on values (a function-level or system reset). */
    public void reset() {
        System.arraycopy(reset, 0, cfg, 0, CONFIG_SIZE);
        listener.msixControl(false, false);
        listener.intxDisable(false);
    }

    @Override public List<Bar> bars() { return bars; }

    public boolean msixEnabled() { return (get16(msixCap + PciConfig.MSIX_FLAGS) & PciConfig.MSIX_FLAGS_ENABLE) != 0; }

    public int command() { return get16(PciConfig.COMMAND); }

    @Override
    public long configRead(final int offset, final int size) {
        if (!validAccess(offset, size)) {
            log.warn("PCI config read of size {} at 0x{} ignored", size, Integer.toHexString(offset));
            return size >= 8 ? -1L : (1L << (8 * size)) - 1;
        }
        if (pciCfgCap >= 0 && overlaps(offset, size, pciCfgCap + VirtioPciCap.PCI_CFG_DATA, 4)) windowRead();
        long v = 0;
        for (int i = 0; i < size; i++) v |= (long) (cfg[offset + i] & 0xFF) << (8 * i);
        return v;
    }

    @Override
    public void configWrite(final int offset, final int size, final long value) {
        if (!validAccess(offset, size)) {
            log.warn("PCI config write of size {} at 0x{} ignored", size, Integer.toHexString(offset));
            return;
        }
        final int oldCommand = command();
        final int oldMsix = get16(msixCap + PciConfig.MSIX_FLAGS);
        for (int i = 0; i < size; i++) {
            final int o = offset + i;
            final int m = wmask[o] & 0xFF;
            cfg[o] = (byte) ((cfg[o] & ~m) | ((int) (value >>> (8 * i)) & m));
        }
        final int command = command();
        if (((command ^ oldCommand) & PciConfig.COMMAND_INTX_DISABLE) != 0) {
            listener.intxDisable((command & PciConfig.COMMAND_INTX_DISABLE) != 0);
        }
        final int msix = get16(msixCap + PciConfig.MSIX_FLAGS);
        if (msix != oldMsix) {
            listener.msixControl((msix & PciConfig.MSIX_FLAGS_ENABLE) != 0, (msix & PciConfig.MSIX_FLAGS_MASKALL) != 0);
        }
        if (pciCfgCap >= 0 && overlaps(offset, size, pciCfgCap + VirtioPciCap.PCI_CFG_DATA, 4)) windowWrite();
    }

    private static boolean validAccess(final int offset, final int size) {
        return (size == 1 || size == 2 || size == 4 || size == 8) && offset >= 0 && offset <= CONFIG_SIZE - size;
    }

    private static boolean overlaps(final int off, final int size, final int start, final int len) {
        return off < start + len && start < off + size;
    }

    /** The BAR access the PCI_CFG window selects, or null (with a log line) when it selects nothing valid. */
    private MmioRegion windowTarget(final int bar, final long off, final int len) {
        if (len != 1 && len != 2 && len != 4 || (off & (len - 1)) != 0) {
            log.warn("virtio PCI_CFG window: length {} / offset 0x{} invalid", len, Long.toHexString(off));
            return null;
        }
        for (Bar b : bars) {
            if (b.index() == bar) {
                final MmioRegion r = regions.get(b.region());
                if (off >= 0 && off + len <= r.size()) return r;
            }
        }
        log.warn("virtio PCI_CFG window: BAR {} offset 0x{} is not in a BAR", bar, Long.toHexString(off));
        return null;
    }

    private void windowRead() {
        final int c = pciCfgCap;
        final int bar = cfg[c + VirtioPciCap.CAP_BAR] & 0xFF;
        final long off = Integer.toUnsignedLong(get32(c + VirtioPciCap.CAP_OFFSET));
        final int len = get32(c + VirtioPciCap.CAP_LENGTH);
        final MmioRegion r = windowTarget(bar, off, len);
        if (r == null) return;
        final long v = r.read(off, len);
        for (int i = 0; i < len; i++) cfg[c + VirtioPciCap.PCI_CFG_DATA + i] = (byte) (v >>> (8 * i));
    }

    private void windowWrite() {
        final int c = pciCfgCap;
        final int bar = cfg[c + VirtioPciCap.CAP_BAR] & 0xFF;
        final long off = Integer.toUnsignedLong(get32(c + VirtioPciCap.CAP_OFFSET));
        final int len = get32(c + VirtioPciCap.CAP_LENGTH);
        final MmioRegion r = windowTarget(bar, off, len);
        if (r == null) return;
        r.write(off, len, Integer.toUnsignedLong(get32(c + VirtioPciCap.PCI_CFG_DATA)) & (len == 4 ? 0xFFFF_FFFFL : (1L << (8 * len)) - 1));
    }

    private int get16(final int o) { return (cfg[o] & 0xFF) | (cfg[o + 1] & 0xFF) << 8; }

    private int get32(final int o) { return get16(o) | get16(o + 2) << 16; }

    private void put16(final int o, final int v) {
        cfg[o] = (byte) v;
        cfg[o + 1] = (byte) (v >>> 8);
    }

    private void put32(final int o, final int v) {
        put16(o, v);
        put16(o + 2, v >>> 16);
    }

    private void put16mask(final int o, final int m) {
        wmask[o] = (byte) m;
        wmask[o + 1] = (byte) (m >>> 8);
    }

    private void put32mask(final int o, final int m) {
        put16mask(o, m);
        put16mask(o + 2, m >>> 16);
    }

    public PciLayout layout() { return layout; }
}
