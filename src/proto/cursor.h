/* Bounds-checked byte cursors with a sticky error flag. Every read or write
 * past the end sets the flag and yields zeros/NULL instead of touching memory
 * outside the buffer, so decoders can check once at the end of a record. */
#ifndef WIRELINK_CURSOR_H
#define WIRELINK_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct reader {
	const uint8_t *buf;
	size_t len, off;
	bool err;      /* ran past the end */
	bool overflow; /* a varint did not fit 64 bits */
};

static inline struct reader reader_init(const uint8_t *buf, size_t len)
{
	return (struct reader){ .buf = buf, .len = len };
}

static inline size_t reader_left(const struct reader *r) { return r->err ? 0 : r->len - r->off; }

/* Returns a pointer to the next n bytes and advances, or NULL (sticky error). */
static inline const uint8_t *reader_take(struct reader *r, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->buf + r->off;
	r->off += n;
	return p;
}

static inline uint8_t reader_u8(struct reader *r)
{
	const uint8_t *p = reader_take(r, 1);
	return p ? *p : 0;
}

static inline uint16_t reader_be16(struct reader *r)
{
	const uint8_t *p = reader_take(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline void reader_copy(struct reader *r, void *dst, size_t n)
{
	const uint8_t *p = reader_take(r, n);
	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

/* Unsigned LEB128 with the limits of Go's binary.ReadUvarint, which the
 * original implementation uses: at most 10 bytes, non-minimal forms allowed,
 * values beyond 64 bits rejected (overflow flag). */
static inline uint64_t reader_uvarint_slow(struct reader *r)
{
	uint64_t x = 0;
	for (unsigned i = 0, shift = 0; i < 10; i++, shift += 7) {
		const uint8_t *p = reader_take(r, 1);
		if (!p)
			return 0;
		if (*p < 0x80) {
			if (i == 9 && *p > 1)
				break;
			return x | (uint64_t)*p << shift;
		}
		x |= (uint64_t)(*p & 0x7f) << shift;
	}
	r->overflow = true;
	return 0;
}

static inline uint64_t reader_uvarint(struct reader *r)
{
	/* Fast path for the one- and two-byte forms every TTL fits in. */
	if (!r->err && r->len - r->off >= 2) {
		const uint8_t *p = r->buf + r->off;
		if (p[0] < 0x80) {
			r->off += 1;
			return p[0];
		}
		if (p[1] < 0x80) {
			r->off += 2;
			return (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		}
	}
	return reader_uvarint_slow(r);
}

struct writer {
	uint8_t *buf;
	size_t cap, off;
	bool err; /* ran out of room */
};

static inline struct writer writer_init(uint8_t *buf, size_t cap)
{
	return (struct writer){ .buf = buf, .cap = cap };
}

static inline void writer_put(struct writer *w, const void *src, size_t n)
{
	if (w->err || n > w->cap - w->off) {
		w->err = true;
		return;
	}
	if (n)
		memcpy(w->buf + w->off, src, n);
	w->off += n;
}

static inline void writer_u8(struct writer *w, uint8_t v) { writer_put(w, &v, 1); }

static inline void writer_be16(struct writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	writer_put(w, b, 2);
}

static inline size_t uvarint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline void writer_uvarint(struct writer *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	writer_put(w, b, n);
}

#endif
