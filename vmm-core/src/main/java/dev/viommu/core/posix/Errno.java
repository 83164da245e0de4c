package dev.viommu.core.posix;

/** Linux errno values (asm-generic/errno-base.h, errno.h) with their symbolic names. */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
            EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17,
            ENODEV = 19, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, EFBIG = 27, ENOSPC = 28,
            ERANGE = 34, ENOSYS = 38, EOVERFLOW = 75, EMSGSIZE = 90, EOPNOTSUPP = 95, ETIMEDOUT = 110, ENAMETOOLONG = 36, ESPIPE = 29, EADDRINUSE = 98;

    private Errno() {}

    /** The symbolic name, such as {@code "EINVAL"}, or {@code "errno <n>"} for a value not listed here. */
    public static String name(final int errno) {
        return switch (errno) {
            case EPERM -> "EPERM"; case ENOENT -> "ENOENT"; case ESRCH -> "ESRCH"; case EINTR -> "EINTR";
            case EIO -> "EIO"; case ENXIO -> "ENXIO"; case E2BIG -> "E2BIG"; case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN"; case ENOMEM -> "ENOMEM"; case EACCES -> "EACCES"; case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY"; case EEXIST -> "EEXIST"; case ENODEV -> "ENODEV"; case EINVAL -> "EINVAL";
            case ENFILE -> "ENFILE"; case EMFILE -> "EMFILE"; case ENOTTY -> "ENOTTY"; case EFBIG -> "EFBIG";
            case ENOSPC -> "ENOSPC"; case ERANGE -> "ERANGE"; case ENOSYS -> "ENOSYS";
            case EOVERFLOW -> "EOVERFLOW"; case EMSGSIZE -> "EMSGSIZE"; case EOPNOTSUPP -> "EOPNOTSUPP";
            case ETIMEDOUT -> "ETIMEDOUT"; case ENAMETOOLONG -> "ENAMETOOLONG";
            case ESPIPE -> "ESPIPE"; case EADDRINUSE -> "EADDRINUSE";
            default -> "errno " + errno;
        };
    }
}
