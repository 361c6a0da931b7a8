/* Fact encoder and decoder. Each attribute's value layout lives in one table
 * row; decoding goes through the bounds-checked reader only. */
#include "proto/wire.h"

#include "proto/meta.h"

#include <string.h>

static const char *const err_text[WIRE_E__COUNT] = {
	[WIRE_OK] = "ok",
	[WIRE_E_TRUNCATED] = "truncated",
	[WIRE_E_ATTR_UNKNOWN] = "unknown attribute",
	[WIRE_E_LEGACY_PING] = "legacy ping attribute 0x00 is not supported",
	[WIRE_E_TTL_RANGE] = "ttl larger than 65535",
	[WIRE_E_VARINT] = "varint overflows 64 bits",
	[WIRE_E_V4_MAPPED] = "IPv4-mapped address in an IPv6 attribute",
	[WIRE_E_PREFIX] = "prefix length larger than the address",
	[WIRE_E_META_LENGTH] = "metadata length past the end",
	[WIRE_E_META_DUP_KEY] = "metadata key repeated",
	[WIRE_E_META_NAME_UTF8] = "metadata name is not valid UTF-8",
	[WIRE_E_META_BASIC] = "metadata basic flag is not one byte of 0 or 1",
	[WIRE_E_NESTED_GROUP] = "signed group inside a signed group",
	[WIRE_E_TRAILING] = "bytes left after the fact",
	[WIRE_E_NOT_GROUP] = "not a signed group",
};

const char *wire_strerror(enum wire_err err)
{
	return (unsigned)err < WIRE_E__COUNT ? err_text[err] : "unknown error";
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };
	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* Value readers. The sizes are constants so that the compiler inlines the
 * copies: this is the per-fact cost of the receive path. */
static inline enum wire_err read_endpoint(struct reader *r, struct wire_fact *f, size_t alen)
{
	const uint8_t *p = reader_take(r, alen + 2);
	if (!p)
		return WIRE_E_TRUNCATED;
	memcpy(f->v.endpoint.addr, p, alen);
	f->v.endpoint.port = (uint16_t)(p[alen] << 8 | p[alen + 1]);
	return alen == 16 && is_v4_mapped(p) ? WIRE_E_V4_MAPPED : WIRE_OK;
}

static inline enum wire_err read_cidr(struct reader *r, struct wire_fact *f, size_t alen)
{
	const uint8_t *p = reader_take(r, alen + 1);
	if (!p)
		return WIRE_E_TRUNCATED;
	memcpy(f->v.cidr.addr, p, alen);
	f->v.cidr.prefix = p[alen];
	if (f->v.cidr.prefix > alen * 8)
		return WIRE_E_PREFIX;
	return alen == 16 && is_v4_mapped(p) ? WIRE_E_V4_MAPPED : WIRE_OK;
}

static enum wire_err read_meta(struct reader *r, struct wire_fact *f)
{
	uint64_t len = reader_uvarint(r);
	if (r->overflow)
		return WIRE_E_VARINT;
	if (r->err)
		return WIRE_E_TRUNCATED;
	if (len > WIRE_META_MAX || len > reader_left(r))
		return WIRE_E_META_LENGTH;
	f->v.meta.len = (uint32_t)len;
	f->v.meta.data = reader_take(r, (size_t)len);
	struct meta_entries m;
	return meta_parse(f->v.meta.data, f->v.meta.len, &m);
}

static enum wire_err read_group(struct reader *r, struct wire_fact *f)
{
	const uint8_t *p = reader_take(r, WIRE_NONCE_LEN + WIRE_TAG_LEN);
	if (!p)
		return WIRE_E_TRUNCATED;
	memcpy(f->v.group.nonce, p, WIRE_NONCE_LEN);
	memcpy(f->v.group.tag, p + WIRE_NONCE_LEN, WIRE_TAG_LEN);
	size_t left = reader_left(r);
	f->v.group.inner.len = (uint32_t)left;
	f->v.group.inner.data = reader_take(r, left);
	return WIRE_OK;
}

static inline __attribute__((always_inline)) enum wire_err read_value(struct reader *r,
								      struct wire_fact *f)
{
	const uint8_t *p;
	switch (f->attr) {
	case WIRE_ALIVE:
		if (!(p = reader_take(r, WIRE_BOOT_ID_LEN)))
			return WIRE_E_TRUNCATED;
		memcpy(f->v.boot_id, p, WIRE_BOOT_ID_LEN);
		return WIRE_OK;
	case WIRE_MEMBER: return WIRE_OK;
	case WIRE_MEMBER_META: return read_meta(r, f);
	case WIRE_ENDPOINT_V4: return read_endpoint(r, f, 4);
	case WIRE_ENDPOINT_V6: return read_endpoint(r, f, 16);
	case WIRE_CIDR_V4: return read_cidr(r, f, 4);
	case WIRE_CIDR_V6: return read_cidr(r, f, 16);
	case WIRE_SIGNED_GROUP: return read_group(r, f);
	default: return f->attr == 0 ? WIRE_E_LEGACY_PING : WIRE_E_ATTR_UNKNOWN;
	}
}

/* Value encoders: each writes the value bytes of a well-formed fact. */
static void write_none(struct writer *w, const struct wire_fact *f) { (void)w, (void)f; }
static void write_alive(struct writer *w, const struct wire_fact *f)
{
	writer_put(w, f->v.boot_id, WIRE_BOOT_ID_LEN);
}
static void write_ep(struct writer *w, const struct wire_fact *f, size_t alen)
{
	writer_put(w, f->v.endpoint.addr, alen);
	writer_be16(w, f->v.endpoint.port);
}
static void write_ep4(struct writer *w, const struct wire_fact *f) { write_ep(w, f, 4); }
static void write_ep6(struct writer *w, const struct wire_fact *f) { write_ep(w, f, 16); }
static void write_cidr(struct writer *w, const struct wire_fact *f, size_t alen)
{
	writer_put(w, f->v.cidr.addr, alen);
	writer_u8(w, f->v.cidr.prefix);
}
static void write_cidr4(struct writer *w, const struct wire_fact *f) { write_cidr(w, f, 4); }
static void write_cidr6(struct writer *w, const struct wire_fact *f) { write_cidr(w, f, 16); }
static void write_meta(struct writer *w, const struct wire_fact *f)
{
	struct meta_entries m;
	if (meta_parse(f->v.meta.data, f->v.meta.len, &m) != WIRE_OK) {
		w->err = true; /* never emit metadata that we would reject */
		return;
	}
	writer_uvarint(w, meta_canonical_size(&m));
	meta_write_canonical(&m, w);
}
static void write_group(struct writer *w, const struct wire_fact *f)
{
	writer_put(w, f->v.group.nonce, WIRE_NONCE_LEN);
	writer_put(w, f->v.group.tag, WIRE_TAG_LEN);
	writer_put(w, f->v.group.inner.data, f->v.group.inner.len);
}

static void (*const value_writers[256])(struct writer *w, const struct wire_fact *f) = {
	[WIRE_ALIVE] = write_alive,
	[WIRE_MEMBER] = write_none,
	[WIRE_MEMBER_META] = write_meta,
	[WIRE_ENDPOINT_V4] = write_ep4,
	[WIRE_ENDPOINT_V6] = write_ep6,
	[WIRE_CIDR_V4] = write_cidr4,
	[WIRE_CIDR_V6] = write_cidr6,
	[WIRE_SIGNED_GROUP] = write_group,
};

/* Inlined into the inner-fact loop, where the reader stays in registers:
 * the packet path's decode is most of its cost outside the AEAD. */
static inline __attribute__((always_inline)) enum wire_err read_fact(struct reader *r,
								     struct wire_fact *f)
{
	const uint8_t *a = reader_take(r, 1);
	if (!a)
		return WIRE_E_TRUNCATED;
	uint8_t attr = *a;
	if (!value_writers[attr])
		return attr == 0 ? WIRE_E_LEGACY_PING : WIRE_E_ATTR_UNKNOWN;
	uint64_t ttl = reader_uvarint(r);
	if (r->overflow)
		return WIRE_E_VARINT;
	const uint8_t *subject = reader_take(r, WIRE_KEY_LEN);
	if (!subject)
		return WIRE_E_TRUNCATED;
	if (ttl > WIRE_TTL_MAX)
		return WIRE_E_TTL_RANGE;
	f->attr = attr;
	f->ttl = (uint16_t)ttl;
	memcpy(f->subject, subject, WIRE_KEY_LEN);
	return read_value(r, f);
}

enum wire_err wire_read_fact(struct reader *r, struct wire_fact *f) { return read_fact(r, f); }

void wire_inner_begin(struct wire_inner_iter *it, const struct wire_view *inner)
{
	*it = (struct wire_inner_iter){ .p = inner->data, .len = inner->len };
}

bool wire_inner_next(struct wire_inner_iter *it, struct wire_fact *out)
{
	if (it->err || it->off >= it->len)
		return false;
	struct reader r = reader_init(it->p + it->off, it->len - it->off);
	enum wire_err err = read_fact(&r, out);
	if (!err && out->attr == WIRE_SIGNED_GROUP)
		err = WIRE_E_NESTED_GROUP;
	if (err) {
		it->err = err;
		return false;
	}
	it->off += r.off;
	it->index++;
	return true;
}

enum wire_err wire_inner_validate(const struct wire_view *inner, size_t *count,
				  uint32_t *bad_index)
{
	struct wire_inner_iter it;
	struct wire_fact f;
	wire_inner_begin(&it, inner);
	while (wire_inner_next(&it, &f))
		;
	if (count)
		*count = it.index;
	if (bad_index)
		*bad_index = it.index;
	return it.err;
}

enum wire_err wire_decode_group_outer(const uint8_t *buf, size_t len, struct wire_fact *out)
{
	if (len < 1 || buf[0] != WIRE_SIGNED_GROUP)
		return len < 1 ? WIRE_E_TRUNCATED : WIRE_E_NOT_GROUP;
	struct reader r = reader_init(buf, len);
	return wire_read_fact(&r, out);
}

enum wire_err wire_decode_packet(const uint8_t *buf, size_t len, struct wire_fact *out,
				 size_t *inner_count)
{
	struct reader r = reader_init(buf, len);
	enum wire_err err = wire_read_fact(&r, out);
	if (err)
		return err;
	if (out->attr != WIRE_SIGNED_GROUP)
		return reader_left(&r) ? WIRE_E_TRAILING : WIRE_OK;
	return wire_inner_validate(&out->v.group.inner, inner_count, NULL);
}

static bool encode_with(const struct wire_fact *f, struct writer *w, bool header)
{
	void (*write)(struct writer *, const struct wire_fact *) = value_writers[f->attr];
	if (!write)
		return false;
	if (header) {
		writer_u8(w, f->attr);
		writer_uvarint(w, f->ttl);
		writer_put(w, f->subject, WIRE_KEY_LEN);
	}
	write(w, f);
	return !w->err;
}

bool wire_encode_fact(const struct wire_fact *f, uint8_t *out, size_t cap, size_t *written)
{
	struct writer w = writer_init(out, cap);
	bool ok = encode_with(f, &w, true);
	*written = ok ? w.off : 0;
	return ok;
}

bool wire_encode_value(const struct wire_fact *f, uint8_t *out, size_t cap, size_t *written)
{
	struct writer w = writer_init(out, cap);
	bool ok = encode_with(f, &w, false);
	*written = ok ? w.off : 0;
	return ok;
}

size_t wire_fact_size(const struct wire_fact *f)
{
	size_t head = 1 + uvarint_size(f->ttl) + WIRE_KEY_LEN;
	switch (f->attr) {
	case WIRE_ALIVE: return head + WIRE_BOOT_ID_LEN;
	case WIRE_MEMBER: return head;
	case WIRE_ENDPOINT_V4: return head + 6;
	case WIRE_ENDPOINT_V6: return head + 18;
	case WIRE_CIDR_V4: return head + 5;
	case WIRE_CIDR_V6: return head + 17;
	case WIRE_SIGNED_GROUP:
		return head + WIRE_NONCE_LEN + WIRE_TAG_LEN + f->v.group.inner.len;
	case WIRE_MEMBER_META: {
		struct meta_entries m;
		if (meta_parse(f->v.meta.data, f->v.meta.len, &m) != WIRE_OK)
			return 0;
		size_t body = meta_canonical_size(&m);
		return head + uvarint_size(body) + body;
	}
	default: return 0;
	}
}
