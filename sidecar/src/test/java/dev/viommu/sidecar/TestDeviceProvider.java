package dev.viommu.sidecar;

import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.regs.Access;
import dev.viommu.core.regs.Field;
import dev.viommu.core.regs.Register;
import dev.viommu.core.regs.RegisterDef;
import dev.viommu.core.regs.RegisterFile;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.DeviceModelProvider;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertySpec;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.InvalidationListener;
import dev.viommu.core.translate.InvalidationNotifier;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.translate.TranslationService;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny device for the sidecar's own tests ("test-iommu"): a register file, a linear translation (IOVA + offset
 * below a limit, a fault above it), a doorbell that raises an MSI, and a register that writes guest memory.
 */
public final class TestDeviceProvider implements DeviceModelProvider {
    enum Reg implements RegisterDef {
        ID(Register.whole("ID", 0x00, 4, 0x7E57, Access.RO)),
        SCRATCH(Register.whole("SCRATCH", 0x08, 8, 0, Access.RW)),
        STATUS(Register.whole("STATUS", 0x10, 4, 0, Access.RW1C)),
        MSI_ADDR(Register.whole("MSI_ADDR", 0x18, 8, 0, Access.RW)),
        MSI_DATA(Register.whole("MSI_DATA", 0x20, 4, 0, Access.RW)),
        DMA_GPA(Register.whole("DMA_GPA", 0x28, 8, 0, Access.RW)),
        DMA_WRITE(Register.of("DMA_WRITE", 0x30, 8, 0, Field.of("VALUE", 63, 0, Access.WO))),
        INVALIDATE(Register.of("INVALIDATE", 0x38, 4, 0, Field.of("GO", 0, 0, Access.WO)));

        private final Register spec;

        Reg(final Register spec) { this.spec = spec; }

        @Override public Register spec() { return spec; }
    }

    @Override public String driver() { return "test-iommu"; }

    @Override public String description() { return "a test device"; }

    @Override public List<PropertySpec> properties() {
        return List.of(PropertySpec.uint("offset", 0x1000, 0, 1L << 40, "added to every IOVA"),
                PropertySpec.uint("limit", 0x10_0000, 1, 1L << 48, "IOVAs at or above fault"),
                PropertySpec.bool("verbose", false, "nothing"));
    }

    @Override
    public DeviceModel create(final String id, final Properties p, final DeviceContext ctx) {
        return new Dev(id, p.uint("offset"), p.uint("limit"), ctx);
    }

    /** A doorbell on this queue throws, as a buggy model might: the transport must contain it. */
    static final int BUGGY_QUEUE = 0x0BAD_D00B;   // not 2^31 - 1, which every doorbell at or above 2^31 becomes

    static final class Dev implements DeviceModel, TranslationService, MmioRegion {
        private final String id;
        private final long offset, limit;
        private final DeviceContext ctx;
        private final RegisterFile<Reg> regs = new RegisterFile<>(Reg.class, 0x100);
        private final InvalidationNotifier notifier = new InvalidationNotifier();
        private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();
        private int doorbells;

        Dev(final String id, final long offset, final long limit, final DeviceContext ctx) {
            this.id = id;
            this.offset = offset;
            this.limit = limit;
            this.ctx = ctx;
        }

        @Override public String id() { return id; }
        @Override public String driver() { return "test-iommu"; }
        @Override public List<MmioRegion> mmioRegions() { return List.of(this); }
        @Override public TranslationService translation() { return this; }
        @Override public String name() { return "regs"; }
        @Override public long size() { return 0x100; }
        // the device counts its own accesses (DeviceMetrics: who counts what), as the real models do
        @Override public long read(final long off, final int size) {
            ctx.metrics().mmioReads.increment();
            return regs.read(off, size);
        }

        @Override public void write(final long off, final int size, final long value) {
            ctx.metrics().mmioWrites.increment();
            regs.write(off, size, value, (r, old, now) -> {
                switch (r) {
                    case DMA_WRITE -> {
                        try {
                            ctx.memory().get().write64(regs.get(Reg.DMA_GPA), now);
                        } catch (GuestMemoryException e) {
                            regs.set(Reg.STATUS, 1);   // the architected error of this toy device
                        }
                    }
                    case INVALIDATE -> notifier.notify(ANY_SOURCE, ANY_PASID, 0, 0);
                    default -> { }
                }
            });
        }

        @Override public void attachEndpoint(final Endpoint e) throws DeviceException {
            if (e.kind() != Endpoint.Kind.EMULATED) throw new DeviceException("test-iommu: emulated endpoints only");
            endpoints.put(e.id(), e);
        }

        @Override public void detachEndpoint(final String epId) throws DeviceException {
            if (endpoints.remove(epId) == null) throw new DeviceException("no endpoint " + epId);
        }

        @Override public void doorbell(final int queue) {
            if (queue == BUGGY_QUEUE) throw new IllegalStateException("test-iommu: a model bug on queue " + queue);
            doorbells++;
            ctx.interrupts().msi(regs.get(Reg.MSI_ADDR), (int) regs.get(Reg.MSI_DATA) + queue);
            ctx.events().emit("TEST_DOORBELL", Map.of("queue", queue));
        }

        @Override public boolean translate(final int src, final int pasid, final long iova, final int access, final Translation out) {
            ctx.metrics().translations.increment();
            boolean known = false;
            for (Endpoint e : endpoints.values()) known |= e.sourceId() == src;
            if (!known) return out.fault(1, "UNKNOWN_SOURCE").ok;
            if (Long.compareUnsigned(iova, limit) >= 0) return out.fault(2, "OUT_OF_RANGE").ok;
            return out.success(iova + offset, AccessType.READ | AccessType.WRITE, 4096).ok;
        }

        @Override public void addInvalidationListener(final InvalidationListener l) { notifier.add(l); }
        @Override public void removeInvalidationListener(final InvalidationListener l) { notifier.remove(l); }

        @Override public Map<String, Object> describe() {
            final Map<String, Object> m = new LinkedHashMap<>();
            m.put("registers", regs.snapshot());
            m.put("doorbells", doorbells);
            return m;
        }

        @Override public void reset() { regs.reset(); }
        @Override public void close() { }
    }
}
