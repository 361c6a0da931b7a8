/* Member metadata parsing, validation and canonical re-encoding. */
#include "proto/meta.h"

#include "util/utf8.h"

#include <string.h>

static void set_present(struct meta_entries *m, uint8_t key)
{
	m->present[key >> 3] |= (uint8_t)(1u << (key & 7));
}

bool meta_has(const struct meta_entries *m, uint8_t key)
{
	return m->present[key >> 3] & (1u << (key & 7));
}

static enum wire_err check_value(uint8_t key, const uint8_t *v, size_t len)
{
	if (key == META_NAME && !utf8_valid(v, len, NULL))
		return WIRE_E_META_NAME_UTF8;
	if (key == META_BASIC && (len != 1 || v[0] > 1))
		return WIRE_E_META_BASIC;
	return WIRE_OK;
}

enum wire_err meta_parse(const uint8_t *p, size_t len, struct meta_entries *m)
{
	memset(m->present, 0, sizeof(m->present));
	m->count = 0;
	m->canonical_size = 0;
	m->base = p;
	struct reader r = reader_init(p, len);
	while (reader_left(&r) > 0) {
		uint8_t key = reader_u8(&r);
		uint64_t vlen = reader_uvarint(&r);
		if (r.overflow)
			return WIRE_E_VARINT;
		if (r.err || vlen > reader_left(&r))
			return WIRE_E_META_LENGTH;
		if (meta_has(m, key))
			return WIRE_E_META_DUP_KEY;
		uint32_t off = (uint32_t)r.off;
		const uint8_t *v = reader_take(&r, (size_t)vlen);
		enum wire_err err = check_value(key, v, (size_t)vlen);
		if (err)
			return err;
		set_present(m, key);
		m->off[key] = off;
		m->len[key] = (uint32_t)vlen;
		m->count++;
		m->canonical_size += (uint32_t)(1 + uvarint_size(vlen) + vlen);
	}
	return WIRE_OK;
}

int meta_next_key(const struct meta_entries *m, int prev)
{
	if (prev < 0 && meta_has(m, META_NAME))
		return META_NAME;
	/* A byte of the bitmap at a time: the packer asks for every member
	 * metadata fact it sizes and writes (at a hub, N x N of them). */
	for (int k = prev < 0 || prev == META_NAME ? 0 : prev + 1; k < 256; k = (k | 7) + 1) {
		unsigned bits = m->present[k >> 3] & (0xffu << (k & 7));
		if (k >> 3 == META_NAME >> 3)
			bits &= ~(1u << (META_NAME & 7));
		if (bits)
			return (k & ~7) + __builtin_ctz(bits);
	}
	return -1;
}

struct wire_view meta_get(const struct meta_entries *m, uint8_t key)
{
	if (!meta_has(m, key))
		return (struct wire_view){ 0 };
	return (struct wire_view){ m->base + m->off[key], m->len[key] };
}

size_t meta_canonical_size(const struct meta_entries *m) { return m->canonical_size; }

void meta_write_canonical(const struct meta_entries *m, struct writer *w)
{
	for (int k = meta_next_key(m, -1); k >= 0; k = meta_next_key(m, k)) {
		writer_u8(w, (uint8_t)k);
		writer_uvarint(w, m->len[k]);
		writer_put(w, m->base + m->off[k], m->len[k]);
	}
}

size_t meta_build(const char *name, int basic, uint8_t *out, size_t cap, bool *ok)
{
	struct writer w = writer_init(out, cap);
	if (name) {
		size_t n = strlen(name);
		writer_u8(&w, META_NAME);
		writer_uvarint(&w, n);
		writer_put(&w, name, n);
	}
	if (basic >= 0) {
		writer_u8(&w, META_BASIC);
		writer_uvarint(&w, 1);
		writer_u8(&w, basic ? 1 : 0);
	}
	*ok = !w.err;
	return w.err ? 0 : w.off;
}
