/* libFuzzer target: the userspace control-socket reply parser. */
#include "wg/uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device *dev = wg_device_new("wgfuzz");
	if (!dev)
		return 0;
	if (uapi_parse_get((const char *)data, size, dev) == 0) {
		FILE *null = fopen("/dev/null", "w");
		if (null) {
			wg_device_dump(dev, null);
			fclose(null);
		}
	}
	wg_device_free(dev);
	(void)uapi_parse_status((const char *)data, size);
	return 0;
}
