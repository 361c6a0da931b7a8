/* libFuzzer target: the configuration file parser (JSON, or YAML when the
 * first byte is odd) and the control socket's request handling. */
#include "config.h"
#include "control.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct config c;
	memset(&c, 0, sizeof(c));
	snprintf(c.iface, sizeof(c.iface), "wg0");
	c.router = -1;
	char err[512];
	(void)config_parse_text((const char *)data + 1, size - 1, data[0] & 1, "fuzz.conf", &c, err,
				sizeof(err));
	config_free(&c);
	/* A request line with no daemon state behind it: the requests that
	 * need state must fail cleanly, the others be answered. */
	char req[CONTROL_REQUEST_MAX + 1];
	size_t n = size - 1 < CONTROL_REQUEST_MAX ? size - 1 : CONTROL_REQUEST_MAX;
	memcpy(req, data + 1, n);
	req[n] = '\0';
	int level = -1;
	free(control_answer(req, NULL, &level));
	return 0;
}
