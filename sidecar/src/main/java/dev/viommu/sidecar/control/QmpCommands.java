package dev.viommu.sidecar.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostBackendProvider;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.mem.GuestRegion;
import dev.viommu.core.mem.MappedRegions;
import dev.viommu.core.posix.Posix;
import dev.viommu.core.posix.PosixException;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModelProvider;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.PropertyException;
import dev.viommu.core.spi.PropertySpec;
import dev.viommu.sidecar.Version;
import dev.viommu.sidecar.machine.DeviceSlot;
import dev.viommu.sidecar.machine.Machine;
import dev.viommu.sidecar.machine.MemoryBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/**
 * The control socket's commands. Each takes validated {@link Args} and returns the {@code return} value; a
 * failure is a {@link QmpException}. They all run on the one control thread, so they see the machine alone
 * (the data plane only reads it, and device calls take the device's lock).
 */
public final class QmpCommands {
    /** One command: its handler and whether it needs the descriptors that came with it. */
    @FunctionalInterface
    public interface Handler {
        JsonNode run(Args args, Session session) throws QmpException;
    }

    /** What a command may ask of the client that sent it. */
    public interface Session {
        /** Takes the oldest descriptor that arrived with this command's bytes, or -1. The caller owns it. */
        int takeFd();

        /** Asks the sidecar to exit once this reply is sent. */
        void requestQuit();
    }

    private static final Logger LOG = LoggerFactory.getLogger(QmpCommands.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Machine machine;
    private final Map<String, Handler> commands = new TreeMap<>();

    public QmpCommands(final Machine machine) {
        this.machine = machine;
        commands.put("qmp_capabilities", (a, s) -> { throw new IllegalStateException("handled by the session"); });
        commands.put("query-version", this::queryVersion);
        commands.put("query-commands", this::queryCommands);
        commands.put("quit", (a, s) -> { a.only(Set.of()); s.requestQuit(); return empty(); });
        commands.put("getfd", this::getfd);
        commands.put("closefd", this::closefd);
        commands.put("object-add", this::objectAdd);
        commands.put("object-del", this::objectDel);
        commands.put("device_add", this::deviceAdd);
        commands.put("device-add", this::deviceAdd);
        commands.put("device_del", this::deviceDel);
        commands.put("device-del", this::deviceDel);
        commands.put("viommu-attach-device", this::attachDevice);
        commands.put("viommu-detach-device", this::detachDevice);
        commands.put("query-viommus", this::queryViommus);
        commands.put("query-viommu", this::queryViommu);
        commands.put("query-viommu-drivers", this::queryDrivers);
        commands.put("query-metrics", this::queryMetrics);
        commands.put("query-memory", this::queryMemory);
    }

    public Handler get(final String name) { return commands.get(name); }

    private static ObjectNode empty() { return JSON.createObjectNode(); }

    private JsonNode queryVersion(final Args a, final Session s) throws QmpException {
        a.only(Set.of());
        return Version.qmpVersion(JSON);
    }

    private JsonNode queryCommands(final Args a, final Session s) throws QmpException {
        a.only(Set.of());
        final ArrayNode arr = JSON.createArrayNode();
        for (String c : commands.keySet()) arr.addObject().put("name", c);
        return arr;
    }

    private JsonNode getfd(final Args a, final Session s) throws QmpException {
        a.only(Set.of("fdname"));
        final String name = a.string("fdname");
        if (!name.isEmpty() && Character.isDigit(name.charAt(0))) {
            throw QmpException.generic("Parameter 'fdname' expects a name not starting with a digit");
        }
        final int fd = s.takeFd();
        if (fd < 0) throw QmpException.generic("No file descriptor supplied via SCM_RIGHTS");
        machine.fds().put(name, fd);
        return empty();
    }

    private JsonNode closefd(final Args a, final Session s) throws QmpException {
        a.only(Set.of("fdname"));
        final String name = a.string("fdname");
        if (!machine.fds().close(name)) throw QmpException.generic("File descriptor named '" + name + "' not found");
        return empty();
    }

    // ---- objects: RAM backends and the host IOMMU ------------------------------------------------------

    private JsonNode objectAdd(final Args a, final Session s) throws QmpException {
        final String type = a.string("qom-type");
        final String id = a.string("id");
        if (machine.memoryBackends().containsKey(id) || machine.hostObjects().containsKey(id)) {
            throw QmpException.generic("attempt to add duplicate property '" + id + "' to object (type 'container')");
        }
        switch (type) {
            case "memory-backend-file", "memory-backend-memfd", "memory-backend-shm" -> addMemory(a, type, id);
            case "iommufd" -> addIommufd(a, id);
            default -> throw QmpException.generic("invalid object type: " + type);
        }
        return empty();
    }

    private void addMemory(final Args a, final String type, final String id) throws QmpException {
        a.only(Set.of("qom-type", "id", "size", "mem-path", "fd", "gpa", "offset", "readonly", "share"));
        final long size = a.uint("size");
        final long gpa = a.uint("gpa", 0);
        final long offset = a.uint("offset", 0);
        final boolean ro = a.bool("readonly", false);
        if (size == 0 || (size & 4095) != 0) throw QmpException.generic("property 'size' must be a non-zero multiple of 4096");
        if (!a.bool("share", true)) throw QmpException.generic("the sidecar needs share=on: guest RAM must be a shared mapping");
        final boolean byFd = a.has("fd");
        if (byFd == a.has("mem-path")) throw QmpException.generic("exactly one of 'fd' and 'mem-path' is required");
        if (type.equals("memory-backend-memfd") && !byFd) throw QmpException.generic("memory-backend-memfd needs 'fd' (from getfd)");
        // offset + size must not wrap: mapFd's file-length check would pass on the wrapped sum, leaving mmap's
        // EOVERFLOW as the only guard, and only after the descriptor had been taken from the table
        if (offset > Long.MAX_VALUE - size) throw QmpException.generic("properties 'offset' + 'size' are out of range");
        final String fdName = byFd ? a.string("fd") : null;
        final String memPath = byFd ? null : a.string("mem-path");
        if (memPath != null) requireRegularFile(memPath);
        final GuestRegion region;
        int owned = -1;
        try {
            if (byFd) {
                owned = machine.fds().take(fdName);
                if (owned < 0) throw QmpException.generic("File descriptor named '" + fdName + "' has not been found");
                region = MappedRegions.mapFd(id, gpa, owned, offset, size, ro);
            } else {
                region = MappedRegions.mapPath(id, gpa, memPath, offset, size, ro);
            }
        } catch (PosixException | IllegalArgumentException e) {
            Posix.closeQuietly(owned);
            throw QmpException.generic("cannot map '" + id + "': " + e.getMessage());
        }
        try {
            machine.addMemory(new MemoryBackend(id, type, region, owned, byFd ? "fd:" + fdName : memPath));
        } catch (IllegalArgumentException e) {
            try { MappedRegions.unmap(region); } catch (PosixException ignored) { /* already failing */ }
            Posix.closeQuietly(owned);
            throw QmpException.generic("memory '" + id + "': " + e.getMessage());
        }
    }

    /**
     * A mem-path must name a regular file (a /dev/shm or hugetlbfs file). Anything else is refused before it is
     * opened: opening a FIFO read-only blocks until a writer comes, and the one control thread with it.
     */
    private static void requireRegularFile(final String memPath) throws QmpException {
        final java.nio.file.Path p;
        try {
            p = java.nio.file.Path.of(memPath);
        } catch (java.nio.file.InvalidPathException e) {
            throw QmpException.generic("property 'mem-path': " + e.getMessage());
        }
        if (!java.nio.file.Files.isRegularFile(p)) throw QmpException.generic("property 'mem-path': '" + memPath + "' is not a regular file");
    }

    private void addIommufd(final Args a, final String id) throws QmpException {
        a.only(Set.of("qom-type", "id", "fd"));
        if (!machine.devices().isEmpty()) throw QmpException.generic("the iommufd object must be added before any vIOMMU");
        // one host backend, so one iommufd object: a second would replace (and close) the first's backend while
        // the first object stayed listed, and deleting either would then drop the other's
        if (!machine.hostObjects().isEmpty()) {
            throw QmpException.generic("an iommufd object exists already: '" + machine.hostObjects().keySet().iterator().next() + "'");
        }
        HostBackendProvider provider = null;
        for (HostBackendProvider p : ServiceLoader.load(HostBackendProvider.class)) if (p.kind().equals("iommufd")) provider = p;
        if (provider == null || (!a.has("fd") && !provider.available())) {
            throw QmpException.generic("iommufd is not available on this host (no /dev/iommu)");
        }
        final Map<String, Object> cfg = new LinkedHashMap<>();
        final String fdName = a.has("fd") ? a.string("fd") : null;
        if (fdName != null) {
            // lent to the provider, which checks that it is /dev/iommu; it leaves the table only once adopted
            final int fd = machine.fds().peek(fdName);
            if (fd < 0) throw QmpException.generic("File descriptor named '" + fdName + "' has not been found");
            cfg.put("fd", fd);
        }
        final HostBackend created;
        try {
            created = provider.create(cfg, machine::memory);
        } catch (Exception e) {
            // a refused descriptor was left open by the provider and stays in the table under its name
            throw QmpException.generic("iommufd: " + e.getMessage());
        }
        if (fdName != null) machine.fds().take(fdName);      // the backend owns it now, and closes it at object-del
        final HostBackend old = machine.host();
        machine.setHost(created);
        machine.hostObjects().put(id, "iommufd");
        try {
            old.close();
        } catch (RuntimeException e) {
            LOG.warn("closing the replaced host backend", e);
        }
    }

    private JsonNode objectDel(final Args a, final Session s) throws QmpException {
        a.only(Set.of("id"));
        final String id = a.string("id");
        if (machine.memoryBackends().containsKey(id)) {
            machine.removeMemory(id);
            return empty();
        }
        if (machine.hostObjects().containsKey(id)) {
            if (!machine.devices().isEmpty()) throw QmpException.generic("object '" + id + "' is in use by a vIOMMU");
            machine.hostObjects().remove(id);
            machine.host().close();
            machine.setHost(new dev.viommu.core.host.NoHostBackend());
            return empty();
        }
        throw QmpException.generic("object '" + id + "' not found");
    }

    // ---- devices -------------------------------------------------------------------------------------

    private JsonNode deviceAdd(final Args a, final Session s) throws QmpException {
        final String driver = a.string("driver");
        final String id = a.string("id");
        final Map<String, Object> props = a.rest(Set.of("driver", "id", "bus"));
        try {
            machine.addDevice(driver, id, props);
        } catch (PropertyException | DeviceException e) {
            throw QmpException.generic(e.getMessage());
        } catch (RuntimeException e) {
            throw QmpException.generic("device_add " + driver + " failed: " + e);
        }
        return empty();
    }

    private JsonNode deviceDel(final Args a, final Session s) throws QmpException {
        a.only(Set.of("id"));
        final String id = a.string("id");
        if (!machine.removeDevice(id)) throw new QmpException(QmpException.DEVICE_NOT_FOUND, "Device '" + id + "' not found");
        return empty();
    }

    private DeviceSlot slot(final Args a, final String arg) throws QmpException {
        final String id = a.string(arg);
        final DeviceSlot s = machine.device(id);
        if (s == null) throw new QmpException(QmpException.DEVICE_NOT_FOUND, "Device '" + id + "' not found");
        return s;
    }

    private JsonNode attachDevice(final Args a, final Session session) throws QmpException {
        a.only(Set.of("viommu", "id", "kind", "source-id", "host", "host-fd"));
        final DeviceSlot s = slot(a, "viommu");
        final String epId = a.string("id");
        final long src = a.uint("source-id");
        // an endpoint's source id is a non-negative int (Endpoint); larger ones are refused here, by name
        if (src > Integer.MAX_VALUE) throw QmpException.generic("Parameter 'source-id' is out of range (0 to " + Integer.MAX_VALUE + ")");
        final String kind = a.string("kind", "emulated");
        // every argument is checked before a descriptor is taken from the table, so a refused command leaves it there
        final String hostFd = a.string("host-fd", null);
        final String host = a.string("host", null);
        switch (kind) {
            case "emulated" -> {
                if (host != null || hostFd != null) throw QmpException.generic("an emulated endpoint has no host device");
            }
            case "vfio" -> {
                if (host == null && hostFd == null) throw QmpException.generic("Parameter 'host' is missing");
                // Without a host IOMMU nothing would ever bind (and so close) the device: refused for every model,
                // not only those that check (VT-d does; SMMUv3 and virtio-iommu bind lazily)
                if (machine.host().kind().equals("none")) {
                    throw QmpException.generic("passthrough endpoint " + epId + " needs a host IOMMU backend (the host backend is 'none')");
                }
            }
            default -> throw QmpException.generic("Parameter 'kind' expects 'emulated' or 'vfio'");
        }
        s.lock().lock();
        int fd = -1;        // a host-fd taken from the table: closed here if the model refuses the endpoint
        try {
            if (s.endpoints().containsKey(epId)) throw QmpException.generic("endpoint '" + epId + "' is already attached");
            for (Endpoint e : s.endpoints().values()) {
                if (Integer.toUnsignedLong(e.sourceId()) == src) {
                    throw QmpException.generic("source-id " + src + " is already used by endpoint '" + e.id() + "'");
                }
            }
            final Endpoint ep;
            if (kind.equals("emulated")) {
                ep = Endpoint.emulated(epId, (int) src);
            } else if (hostFd != null) {
                fd = machine.fds().take(hostFd);
                if (fd < 0) throw QmpException.generic("File descriptor named '" + hostFd + "' has not been found");
                ep = new Endpoint(epId, Endpoint.Kind.PASSTHROUGH, (int) src, Optional.of(new HostDeviceRef(host != null ? host : "fd:" + hostFd, fd)));
            } else {
                ep = new Endpoint(epId, Endpoint.Kind.PASSTHROUGH, (int) src, Optional.of(HostDeviceRef.path(host)));
            }
            s.model().attachEndpoint(ep);
            fd = -1;        // the slot owns it now, until the endpoint is detached or the device removed
            s.attached(ep);
        } catch (DeviceException e) {
            throw QmpException.generic(e.getMessage());
        } finally {
            Posix.closeQuietly(fd);
            s.lock().unlock();
        }
        return empty();
    }

    private JsonNode detachDevice(final Args a, final Session session) throws QmpException {
        a.only(Set.of("viommu", "id"));
        final DeviceSlot s = slot(a, "viommu");
        final String epId = a.string("id");
        s.lock().lock();
        try {
            if (!s.endpoints().containsKey(epId)) throw QmpException.generic("endpoint '" + epId + "' is not attached");
            s.model().detachEndpoint(epId);
            s.detached(epId);   // closes the endpoint's host descriptor: the model has let go of it
        } catch (DeviceException e) {
            throw QmpException.generic(e.getMessage());
        } finally {
            s.lock().unlock();
        }
        return empty();
    }

    private ObjectNode summary(final DeviceSlot s) {
        final ObjectNode o = JSON.createObjectNode();
        o.put("id", s.model().id());
        o.put("driver", s.model().driver());
        o.put("handle", s.handle());
        final ArrayNode regions = o.putArray("regions");
        final List<MmioRegion> rs = s.model().mmioRegions();
        for (int i = 0; i < rs.size(); i++) {
            regions.addObject().put("index", i).put("name", rs.get(i).name()).put("size", rs.get(i).size());
        }
        final ArrayNode eps = o.putArray("endpoints");
        for (Endpoint e : s.endpoints().values()) {
            final ObjectNode n = eps.addObject().put("id", e.id()).put("kind", e.kind().name().toLowerCase())
                    .put("source-id", Integer.toUnsignedLong(e.sourceId()));
            e.hostDevice().ifPresent(h -> n.put("host", h.path()));
        }
        return o;
    }

    private JsonNode queryViommus(final Args a, final Session s) throws QmpException {
        a.only(Set.of());
        final ArrayNode arr = JSON.createArrayNode();
        for (DeviceSlot d : machine.devices()) {
            d.lock().lock();
            try { arr.add(summary(d)); } finally { d.lock().unlock(); }
        }
        return arr;
    }

    private JsonNode queryViommu(final Args a, final Session session) throws QmpException {
        a.only(Set.of("id"));
        final DeviceSlot s = slot(a, "id");
        s.lock().lock();
        try {
            final ObjectNode o = summary(s);
            o.set("state", JSON.valueToTree(s.model().describe()));
            return o;
        } catch (IllegalArgumentException e) {
            throw QmpException.generic("state of '" + s.model().id() + "' is not serialisable: " + e.getMessage());
        } finally {
            s.lock().unlock();
        }
    }

    private JsonNode queryDrivers(final Args a, final Session s) throws QmpException {
        a.only(Set.of());
        final ArrayNode arr = JSON.createArrayNode();
        for (DeviceModelProvider p : machine.registry().providers().values()) {
            final ObjectNode o = arr.addObject().put("name", p.driver()).put("description", p.description());
            final ArrayNode props = o.putArray("properties");
            for (PropertySpec ps : p.properties()) {
                final ObjectNode po = props.addObject().put("name", ps.name()).put("type", ps.type().name().toLowerCase())
                        .put("description", ps.description());
                po.set("default", JSON.valueToTree(ps.defaultValue()));
            }
        }
        return arr;
    }

    private JsonNode queryMetrics(final Args a, final Session s) throws QmpException {
        a.only(Set.of());
        final ObjectNode o = JSON.createObjectNode();
        o.put("format", "prometheus-text-0.0.4");
        o.put("text", machine.metrics().scrape());
        return o;
    }

    private JsonNode queryMemory(final Args a, final Session s) throws QmpException {
        a.only(Set.of());
        final ArrayNode arr = JSON.createArrayNode();
        for (MemoryBackend b : machine.memoryBackends().values()) {
            arr.addObject().put("id", b.id()).put("qom-type", b.qomType()).put("gpa", b.region().base())
                    .put("size", b.region().size()).put("readonly", b.region().readOnly()).put("source", b.source());
        }
        return arr;
    }
}
