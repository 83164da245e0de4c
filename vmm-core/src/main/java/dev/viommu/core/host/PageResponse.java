package dev.viommu.core.host;

/** struct iommu_hwpt_page_response: the cookie of the last request in the group and the response code. */
public record PageResponse(int cookie, int code) {
    /** IOMMUFD_PAGE_RESP_SUCCESS. */
    public static final int SUCCESS = 0;
    /** IOMMUFD_PAGE_RESP_INVALID. */
    public static final int INVALID = 1;
}
