package dev.viommu.core.spi;

import java.util.Map;

/** Asynchronous events a device model reports to control-socket clients (QMP events). */
@FunctionalInterface
public interface EventSink {
    void emit(String event, Map<String, Object> data);

    EventSink NONE = (e, d) -> { };
}
