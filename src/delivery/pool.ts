/** Most outbound requests one object has waiting for headers at once (PLATFORM.md §1). */
export const MAX_CONCURRENT_DELIVERIES = 6;
