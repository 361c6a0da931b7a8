/* libFuzzer target: engine_receive driven by decoded facts from several
 * senders (a router, two leaves, a stranger), then rounds: trust, budget,
 * hijack and apply rules on whatever a peer with a valid key may say. The
 * input is chunks of [sender][length][inner facts...]. */
#include "core/engine.h"
#include "proto/crypto.h"

#include <arpa/inet.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fake_random(void *buf, size_t len) { memset(buf, 0x5a, len); }

static struct wg_device *make_device(void)
{
	struct wg_device *d = wg_device_new("wgfuzz");
	static const char *const allowed[3] = { "10.77.0.0/24", "10.77.0.12/32", "10.66.0.0/16" };
	for (int i = 0; d && i < 3; i++) {
		struct wg_peer *p = wg_device_add_peer(d);
		struct wg_allowedip ip;
		if (!p || !wg_allowedip_parse(allowed[i], &ip) || wg_peer_add_allowedip(p, &ip) != 0)
			break;
		memset(p->public_key, i + 1, 32);
		wg_endpoint_parse("192.0.2.1:51820", &p->endpoint);
		p->last_handshake_sec = 1700000000;
	}
	if (d)
		d->ifindex = 7;
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		if (crypto_init() != 0)
			return 0;
		ready = true;
	}
	static const uint8_t self[32] = { 0xee };
	struct engine_config ec = { .router = -1, .random = fake_random,
				    .limits = { .max_facts = 512, .max_subjects = 64 } };
	struct wg_device *d = make_device();
	struct engine *e = d ? engine_new(&ec, self, 1000000) : NULL;
	if (!e) {
		wg_device_free(d);
		return 0;
	}
	struct netif_addr a = { .family = AF_INET, .prefix = 24 };
	inet_pton(AF_INET, "10.77.0.13", &a.ip4);
	struct netif nif = { "wgfuzz", 7, true, &a, 1, 1 };
	struct netif_list host = { &nif, 1, 1 };
	engine_set_host(e, &host);
	engine_set_device(e, d, 1700000000000);
	int64_t now = 1000000;
	while (size >= 2) {
		uint8_t sender[32];
		memset(sender, (data[0] % 4) + 1, 32);
		size_t len = data[1] < size - 2 ? data[1] : size - 2;
		struct wire_view inner = { data + 2, (uint32_t)len };
		struct wire_fact facts[64];
		size_t k = 0;
		struct wire_inner_iter it;
		wire_inner_begin(&it, &inner);
		while (k < 64 && wire_inner_next(&it, &facts[k]))
			k++;
		if (!it.err)
			(void)engine_receive(e, sender, facts, k, now);
		data += 2 + len;
		size -= 2 + len;
		now += 1000;
	}
	for (int i = 0; i < 3; i++) {
		struct engine_round r;
		if (engine_run(e, now, &r) == 0)
			engine_round_free(&r);
		now += 150000;
	}
	engine_free(e);
	wg_device_free(d);
	return 0;
}
