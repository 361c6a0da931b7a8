/* libFuzzer target: the fact decoder, the text form and the canonical
 * re-encoding. Decoding what we encoded must give back the same bytes. */
#include "proto/text.h"
#include "proto/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void)
{
	static FILE *null;
	if (!null)
		null = fopen("/dev/null", "w");
	return null;
}

static void check_reencode(const struct wire_fact *f)
{
	static uint8_t a[1 << 21], b[1 << 21];
	size_t na = 0, nb = 0;
	if (!wire_encode_fact(f, a, sizeof(a), &na))
		abort(); /* anything we decoded, we can encode */
	if (na != wire_fact_size(f))
		abort();
	struct wire_fact g;
	if (wire_decode_packet(a, na, &g, NULL) != WIRE_OK)
		abort();
	if (!wire_encode_fact(&g, b, sizeof(b), &nb) || na != nb || memcmp(a, b, na) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_fact f;
	size_t count = 0;
	enum wire_err err = wire_decode_packet(data, size, &f, &count);
	text_packet(sink(), data, size);
	if (err == WIRE_OK) {
		check_reencode(&f);
		if (f.attr == WIRE_SIGNED_GROUP) {
			struct wire_inner_iter it;
			struct wire_fact inner;
			size_t seen = 0;
			wire_inner_begin(&it, &f.v.group.inner);
			while (wire_inner_next(&it, &inner)) {
				check_reencode(&inner);
				seen++;
			}
			if (it.err != WIRE_OK || seen != count)
				abort();
		}
	}
	/* The same bytes taken as a group's inner facts. */
	struct wire_view view = { data, (uint32_t)size };
	(void)wire_inner_validate(&view, NULL, NULL);
	return 0;
}
