/* Codec unit tests beyond the vectors: varints, every attribute's round
 * trip, metadata canonical order, text escaping, bounds. */
#include "helpers.h"

#include "proto/meta.h"
#include "proto/text.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t subj[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

static void test_uvarint(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		uint64_t value;
		bool err, overflow;
		size_t used;
	} cases[] = {
		{ "00", 0, false, false, 1 },
		{ "7f", 127, false, false, 1 },
		{ "8001", 128, false, false, 2 },
		{ "ffff03", 65535, false, false, 3 },
		{ "be00", 62, false, false, 2 },	 /* non-minimal is accepted */
		{ "80808080808080808000", 0, false, false, 10 },
		{ "ffffffffffffffffff01", UINT64_MAX, false, false, 10 },
		{ "ffffffffffffffffff02", 0, false, true, 10 }, /* > 64 bits */
		{ "8080808080808080808000", 0, false, true, 10 }, /* 11 bytes */
		{ "80", 0, true, false, 1 },
		{ "", 0, true, false, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[16];
		size_t n = hex_bytes(cases[i].hex, b, sizeof(b));
		struct reader r = reader_init(b, n);
		uint64_t v = reader_uvarint(&r);
		assert_int_equal(r.err, cases[i].err);
		assert_int_equal(r.overflow, cases[i].overflow);
		if (!r.err && !r.overflow) {
			assert_true(v == cases[i].value);
			assert_int_equal(r.off, cases[i].used);
		}
	}
	for (uint64_t v = 1; v; v <<= 1) { /* round trip at every bit width */
		uint8_t b[10];
		struct writer w = writer_init(b, sizeof(b));
		writer_uvarint(&w, v - 1);
		assert_int_equal(w.off, uvarint_size(v - 1));
		struct reader r = reader_init(b, w.off);
		assert_true(reader_uvarint(&r) == v - 1);
	}
}

static void test_cursor_bounds(void **state)
{
	(void)state;
	uint8_t b[4] = { 1, 2, 3, 4 };
	struct reader r = reader_init(b, sizeof(b));
	assert_non_null(reader_take(&r, 3));
	assert_null(reader_take(&r, 2));
	assert_true(r.err);
	assert_int_equal(reader_u8(&r), 0); /* sticky */
	assert_int_equal(reader_left(&r), 0);

	uint8_t o[3];
	struct writer w = writer_init(o, sizeof(o));
	writer_be16(&w, 0x1234);
	writer_be16(&w, 0x5678);
	assert_true(w.err);
	assert_int_equal(w.off, 2);
}

static struct wire_fact make(uint8_t attr, uint16_t ttl)
{
	struct wire_fact f = { .attr = attr, .ttl = ttl };
	memcpy(f.subject, subj, 32);
	return f;
}

/* Encodes, decodes, and checks the text form. */
static void round_trip(const struct wire_fact *f, const char *want_value)
{
	uint8_t b[2048];
	size_t n = 0;
	assert_true(wire_encode_fact(f, b, sizeof(b), &n));
	assert_int_equal(n, wire_fact_size(f));
	struct wire_fact g;
	assert_int_equal(wire_decode_packet(b, n, &g, NULL), WIRE_OK);
	char *a = fact_text(f), *c = fact_text(&g);
	assert_string_equal(a, c);
	const char *v = strstr(c, " value=");
	assert_non_null(v);
	assert_string_equal(v + 7, want_value);
	free(a);
	free(c);
	for (size_t i = 0; i < n; i++) /* every truncation is an error */
		assert_int_not_equal(wire_decode_packet(b, i, &g, NULL), WIRE_OK);
}

static void test_attributes(void **state)
{
	(void)state;
	struct wire_fact f = make(WIRE_ENDPOINT_V4, 255);
	memcpy(f.v.endpoint.addr, (uint8_t[]){ 192, 0, 2, 7 }, 4);
	f.v.endpoint.port = 51820;
	round_trip(&f, "192.0.2.7:51820");

	f = make(WIRE_ENDPOINT_V6, 0);
	memcpy(f.v.endpoint.addr, (uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 9 }, 16);
	f.v.endpoint.port = 1;
	round_trip(&f, "[2001:db8::9]:1");

	f = make(WIRE_CIDR_V4, 65535);
	memcpy(f.v.cidr.addr, (uint8_t[]){ 198, 51, 100, 0 }, 4);
	f.v.cidr.prefix = 24;
	round_trip(&f, "198.51.100.0/24");

	f = make(WIRE_CIDR_V6, 1);
	memcpy(f.v.cidr.addr, (uint8_t[16]){ 0xfd, 0x00, 0x12 }, 16);
	f.v.cidr.prefix = 128;
	round_trip(&f, "fd00:1200::/128");

	f = make(WIRE_ALIVE, 255);
	for (int i = 0; i < 16; i++)
		f.v.boot_id[i] = (uint8_t)(0xa0 + i);
	round_trip(&f, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");

	f = make(WIRE_MEMBER, 3);
	round_trip(&f, "");
}

/* meta_next_key against a plain scan, for many key sets: the name first,
 * then every other present key ascending, each once. */
static void test_meta_key_order(void **state)
{
	(void)state;
	uint32_t seed = 12345;
	for (int round = 0; round < 2000; round++) {
		struct meta_entries m;
		memset(&m, 0, sizeof(m));
		int nkeys = round % 40;
		for (int i = 0; i < nkeys; i++) {
			seed = seed * 1103515245u + 12345u;
			int k = round < 256 ? (i == 0 ? round : (int)(seed >> 16) % 256) : (int)(seed >> 16) % 256;
			m.present[k >> 3] |= (uint8_t)(1u << (k & 7));
		}
		int want[257], n = 0;
		if (meta_has(&m, META_NAME))
			want[n++] = META_NAME;
		for (int k = 0; k < 256; k++)
			if (k != META_NAME && meta_has(&m, (uint8_t)k))
				want[n++] = k;
		int got = -1;
		for (int i = 0; i < n; i++) {
			got = meta_next_key(&m, i ? got : -1);
			assert_int_equal(got, want[i]);
		}
		assert_int_equal(meta_next_key(&m, n ? got : -1), -1);
	}
}

static void test_meta_canonical(void **state)
{
	(void)state;
	/* Keys out of order with a non-minimal length: re-encoded name first,
	 * then ascending, with minimal lengths. */
	uint8_t raw[] = { 'z', 0x81, 0x00, 'Q', 'b', 1, 1, 'n', 2, 'h', 'i', 0x01, 0 };
	struct wire_fact f = make(WIRE_MEMBER_META, 9);
	f.v.meta = (struct wire_view){ raw, sizeof(raw) };
	uint8_t b[256];
	size_t n = 0;
	assert_true(wire_encode_fact(&f, b, sizeof(b), &n));
	const uint8_t want[] = { 12, 'n', 2, 'h', 'i', 0x01, 0, 'b', 1, 1, 'z', 1, 'Q' };
	assert_int_equal(n, 1 + 1 + 32 + sizeof(want));
	assert_memory_equal(b + 34, want, sizeof(want));
	round_trip(&f, "n=\"hi\",x01=,b=1,x7a=51");

	bool ok = false;
	n = meta_build("laptop", 0, raw, sizeof(raw), &ok);
	assert_true(ok);
	assert_int_equal(n, 11);
	assert_int_equal(meta_build("laptop", 0, raw, 5, &ok), 0);
	assert_false(ok);
	assert_int_equal(meta_build(NULL, -1, raw, sizeof(raw), &ok), 0);
	assert_true(ok);

	/* An invalid list is never encoded. */
	uint8_t bad[] = { 'b', 1, 7 };
	f.v.meta = (struct wire_view){ bad, sizeof(bad) };
	assert_false(wire_encode_fact(&f, b, sizeof(b), &n));
	assert_int_equal(wire_fact_size(&f), 0);
}

static void test_meta_rules(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		enum wire_err err;
	} cases[] = {
		{ "", WIRE_OK },
		{ "6e00", WIRE_OK },		      /* empty name */
		{ "6e03e282ac", WIRE_OK },	      /* euro sign */
		{ "6e03eda080", WIRE_E_META_NAME_UTF8 }, /* surrogate */
		{ "6e02c0af", WIRE_E_META_NAME_UTF8 },   /* overlong */
		{ "620100", WIRE_OK },
		{ "620101", WIRE_OK },
		{ "620201", WIRE_E_META_LENGTH },     /* value past the end */
		{ "6200", WIRE_E_META_BASIC },
		{ "6e00620100" "6e00", WIRE_E_META_DUP_KEY },
		{ "7a", WIRE_E_META_LENGTH },
		{ "7affffffffffffffffff7f", WIRE_E_VARINT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[64];
		size_t n = hex_bytes(cases[i].hex, b, sizeof(b));
		struct meta_entries m;
		if (meta_parse(b, n, &m) != cases[i].err)
			fail_msg("case %zu (%s): got %s", i, cases[i].hex,
				 wire_strerror(meta_parse(b, n, &m)));
	}
}

static void test_text_escapes(void **state)
{
	(void)state;
	uint8_t raw[] = { 'n', 7, 'a', '"', '\\', 0x01, 0x7f, 0xc3, 0xa9 };
	struct wire_fact f = make(WIRE_MEMBER_META, 1);
	f.v.meta = (struct wire_view){ raw, sizeof(raw) };
	char *t = fact_text(&f);
	assert_non_null(strstr(t, "value=n=\"a\\\"\\\\\\x01\\x7f\xc3\xa9\""));
	free(t);
}

static void test_packet_level(void **state)
{
	(void)state;
	uint8_t b[256];
	struct wire_fact f = make(WIRE_MEMBER, 1), g;
	size_t n = 0;
	assert_true(wire_encode_fact(&f, b, sizeof(b), &n));
	b[n] = 0;
	assert_int_equal(wire_decode_packet(b, n + 1, &g, NULL), WIRE_E_TRAILING);
	assert_int_equal(wire_decode_group_outer(b, n, &g), WIRE_E_NOT_GROUP);
	assert_int_equal(wire_decode_group_outer(b, 0, &g), WIRE_E_TRUNCATED);

	/* A group of one inner fact, then a second group nested inside. */
	uint8_t pkt[512];
	struct wire_fact s = make(WIRE_SIGNED_GROUP, 0);
	s.v.group.inner = (struct wire_view){ b, (uint32_t)n };
	size_t pn = 0, count = 0;
	assert_true(wire_encode_fact(&s, pkt, sizeof(pkt), &pn));
	assert_int_equal(wire_decode_packet(pkt, pn, &g, &count), WIRE_OK);
	assert_int_equal(count, 1);
	s.v.group.inner = (struct wire_view){ pkt, (uint32_t)pn };
	uint8_t outer[1024];
	size_t on = 0;
	assert_true(wire_encode_fact(&s, outer, sizeof(outer), &on));
	assert_int_equal(wire_decode_packet(outer, on, &g, NULL), WIRE_E_NESTED_GROUP);
	char *t = packet_text(outer, on);
	assert_string_equal(t, "error: signed group fact 1: signed group inside a signed group");
	free(t);

	/* Cannot encode into too small a buffer or an unknown attribute. */
	assert_false(wire_encode_fact(&s, outer, 10, &on));
	f.attr = 'x';
	assert_false(wire_encode_fact(&f, outer, sizeof(outer), &on));
	assert_int_equal(wire_fact_size(&f), 0);
}

static void test_every_attribute_byte(void **state)
{
	(void)state;
	/* Only the eight known attributes decode; everything else is refused. */
	uint8_t b[64] = { 0 };
	int known = 0;
	for (int a = 0; a < 256; a++) {
		b[0] = (uint8_t)a;
		struct wire_fact f;
		enum wire_err err = wire_decode_packet(b, sizeof(b), &f, NULL);
		if (err != WIRE_E_ATTR_UNKNOWN && err != WIRE_E_LEGACY_PING)
			known++;
	}
	assert_int_equal(known, 8);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uvarint),
		cmocka_unit_test(test_cursor_bounds),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_meta_canonical),
		cmocka_unit_test(test_meta_key_order),
		cmocka_unit_test(test_meta_rules),
		cmocka_unit_test(test_text_escapes),
		cmocka_unit_test(test_packet_level),
		cmocka_unit_test(test_every_attribute_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
