/* Canonical text rendering of facts. */
#include "proto/text.h"

#include "proto/meta.h"
#include "util/keys.h"

#include <arpa/inet.h>
#include <stdlib.h>

static void put_hex(FILE *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", p[i]);
}

static void put_key(FILE *out, const uint8_t key[static WIRE_KEY_LEN])
{
	char b64[KEY_B64_LEN + 1];
	key_to_base64(key, b64);
	fputs(b64, out);
}

static void put_uuid(FILE *out, const uint8_t id[static WIRE_BOOT_ID_LEN])
{
	static const int groups[] = { 4, 2, 2, 2, 6 };
	const uint8_t *p = id;
	for (int g = 0; g < 5; p += groups[g], g++) {
		if (g)
			fputc('-', out);
		put_hex(out, p, (size_t)groups[g]);
	}
}

static void put_addr(FILE *out, int family, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];
	fputs(inet_ntop(family, addr, buf, sizeof(buf)) ? buf : "?", out);
}

static void put_quoted(FILE *out, struct wire_view s)
{
	fputc('"', out);
	for (uint32_t i = 0; i < s.len; i++) {
		uint8_t c = s.data[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void put_meta(FILE *out, const struct wire_view *raw)
{
	struct meta_entries m;
	if (meta_parse(raw->data, raw->len, &m) != WIRE_OK) {
		fputs("<invalid>", out);
		return;
	}
	const char *sep = "";
	for (int k = meta_next_key(&m, -1); k >= 0; k = meta_next_key(&m, k), sep = ",") {
		struct wire_view v = meta_get(&m, (uint8_t)k);
		fputs(sep, out);
		if (k == META_NAME) {
			fputs("n=", out);
			put_quoted(out, v);
		} else if (k == META_BASIC) {
			fprintf(out, "b=%u", v.data[0]);
		} else {
			fprintf(out, "x%02x=", k);
			put_hex(out, v.data, v.len);
		}
	}
}

void text_value(FILE *out, const struct wire_fact *f)
{
	const struct wire_endpoint *ep = &f->v.endpoint;
	const struct wire_cidr *c = &f->v.cidr;
	switch (f->attr) {
	case WIRE_ALIVE: put_uuid(out, f->v.boot_id); break;
	case WIRE_MEMBER: break;
	case WIRE_MEMBER_META: put_meta(out, &f->v.meta); break;
	case WIRE_ENDPOINT_V4:
		put_addr(out, AF_INET, ep->addr);
		fprintf(out, ":%u", ep->port);
		break;
	case WIRE_ENDPOINT_V6:
		fputc('[', out);
		put_addr(out, AF_INET6, ep->addr);
		fprintf(out, "]:%u", ep->port);
		break;
	case WIRE_CIDR_V4:
		put_addr(out, AF_INET, c->addr);
		fprintf(out, "/%u", c->prefix);
		break;
	case WIRE_CIDR_V6:
		put_addr(out, AF_INET6, c->addr);
		fprintf(out, "/%u", c->prefix);
		break;
	default: break;
	}
}

void text_fact(FILE *out, const struct wire_fact *f)
{
	fprintf(out, "%c ttl=%u subject=", f->attr, f->ttl);
	put_key(out, f->subject);
	fputs(" value=", out);
	text_value(out, f);
}

char *text_fact_string(const struct wire_fact *f, bool value_only)
{
	char *text = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&text, &n);
	if (!out)
		return NULL;
	(value_only ? text_value : text_fact)(out, f);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static void text_group(FILE *out, const struct wire_fact *g, size_t count)
{
	fprintf(out, "S ttl=%u signer=", g->ttl);
	put_key(out, g->subject);
	fputs(" nonce=", out);
	put_hex(out, g->v.group.nonce, WIRE_NONCE_LEN);
	fputs(" tag=", out);
	put_hex(out, g->v.group.tag, WIRE_TAG_LEN);
	fprintf(out, " facts=%zu\n", count);

	struct wire_inner_iter it;
	struct wire_fact f;
	wire_inner_begin(&it, &g->v.group.inner);
	while (wire_inner_next(&it, &f)) {
		fputs("  ", out);
		text_fact(out, &f);
		fputc('\n', out);
	}
}

void text_error(FILE *out, const uint8_t *buf, size_t len, enum wire_err err)
{
	struct wire_fact g;
	uint32_t bad = 0;
	/* For a group whose inner facts fail, say which one. */
	if (wire_decode_group_outer(buf, len, &g) == WIRE_OK &&
	    wire_inner_validate(&g.v.group.inner, NULL, &bad) == err)
		fprintf(out, "error: signed group fact %u: %s", bad + 1, wire_strerror(err));
	else
		fprintf(out, "error: %s", wire_strerror(err));
}

enum wire_err text_packet(FILE *out, const uint8_t *buf, size_t len)
{
	struct wire_fact f;
	size_t count = 0;
	enum wire_err err = wire_decode_packet(buf, len, &f, &count);
	if (err) {
		text_error(out, buf, len, err);
		fputc('\n', out);
	} else if (f.attr == WIRE_SIGNED_GROUP) {
		text_group(out, &f, count);
	} else {
		text_fact(out, &f);
		fputc('\n', out);
	}
	return err;
}
