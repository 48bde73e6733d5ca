/* fuzz_tmpl_plan.c — libFuzzer target, differential: the compiled record
 * reader (tmpl_plan_flowrec) must give exactly what the field-walking one
 * (tmpl_get_flowrec) gives, for any fixed-length template and record.
 *
 * Input: [nfields:1][scope:1][flags:1] then nfields × [ie:2][len:1][pen:1]
 * (pen byte nonzero: enterprise 9), then the record bytes, then 16 bytes
 * of decoder context (export time, sysUpTime, init time).
 * The record bytes are also read as a NetFlow v5 record: the straight-line
 * reader (nf5_codec.fixed_flowrec) must equal the plan of v5's layout. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "export/template.h"
#include "lib/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	unsigned n = data[0] % (TMPL_MAX_FIELDS + 1), scope = data[1], flags = data[2];
	size_t off = 3;
	if (size - off < 4u * n)
		return 0;
	struct tmpl_field f[TMPL_MAX_FIELDS];
	for (unsigned i = 0; i < n; i++, off += 4) {
		f[i].ie = (uint16_t)(peek_u16(data + off) % 400);
		f[i].len = data[off + 2] % 20;
		f[i].pen = data[off + 3] ? 9 : 0;
		f[i].off = 0;
	}
	static struct tmpl t;
	if (tmpl_init(&t, 300, f, n, scope % (n + 1)) != ERR_OK)
		return 0;
	t.flags = flags & TMPL_F_V9;
	static struct tmpl_plan pl;
	if (tmpl_plan_init(&pl, &t) != ERR_OK)
		return 0;
	struct rec_dec c = { 0 };
	if (size - off >= 16) {
		c.export_us = peek_u32(data + size - 16) * 1000000ull;
		c.sysup_ms = peek_u32(data + size - 12);
		c.init_us = (data[size - 8] & 1) ? peek_u32(data + size - 4) * 1000ull : 0;
		c.no_sysup = data[size - 8] & 2;
	}
	const uint8_t *rec = data + off;
	size_t len = size - off;
	struct flowrec a, b;
	int ra = tmpl_get_flowrec(&t, rec, len, &c, &a);
	int rb = tmpl_plan_flowrec(&pl, rec, len, &c, &b);
	if (ra != rb)
		abort();
	if (ra == ERR_OK && memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	static struct tmpl_plan p5;
	if (!p5.usable && tmpl_plan_init(&p5, nf5_codec.fixed) != ERR_OK)
		abort();
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	ra = tmpl_plan_flowrec(&p5, rec, len, &c, &a);
	rb = nf5_codec.fixed_flowrec(rec, len, &c, &b);
	if (ra != rb || (ra == ERR_OK && memcmp(&a, &b, sizeof(a)) != 0))
		abort();
	return 0;
}
