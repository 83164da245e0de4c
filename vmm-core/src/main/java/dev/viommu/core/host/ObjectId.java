package dev.viommu.core.host;

/** A host iommufd object ID, typed by what it names so that one kind can never be passed for another. */
public sealed interface ObjectId permits ObjectId.Ioas, ObjectId.Hwpt, ObjectId.Device, ObjectId.Viommu,
        ObjectId.Vdevice, ObjectId.FaultQueue, ObjectId.Veventq {
    int value();

    record Ioas(int value) implements ObjectId {}

    record Hwpt(int value) implements ObjectId {}

    /** A bound device (VFIO_DEVICE_BIND_IOMMUFD's out_devid). */
    record Device(int value) implements ObjectId {}

    record Viommu(int value) implements ObjectId {}

    record Vdevice(int value) implements ObjectId {}

    record FaultQueue(int value) implements ObjectId {}

    record Veventq(int value) implements ObjectId {}
}
