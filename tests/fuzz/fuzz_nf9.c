/* fuzz_nf9.c — libFuzzer target: the NetFlow v9 decoder (template flowsets, options templates, data flowsets).
 * Every item is walked field by field, formatted through the catalog and
 * mapped to a flowrec, so the whole read side sees the input. */
#include <stddef.h>
#include <stdint.h>

#include "export/export.h"
#include "export/ie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const struct nf_codec *c, const uint8_t *data, size_t size, const struct tmpl_store *ts)
{
	struct nf_iter it;
	struct nf_item item;
	int rc = c->iter_init(&it, data, size, ts);
	while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK) {
		if (item.kind != NF_ITEM_DATA)
			continue;
		struct flowrec r;
		(void)nf_item_flowrec(&it, &item, &r);
		struct rec_iter ri;
		struct rec_field f;
		char text[96];
		rec_iter_init(&ri, item.t, item.p, item.len);
		while (rec_iter_next(&ri, &f) == ERR_OK)
			(void)ie_format(text, sizeof(text), f.pen ? NULL : ie_by_id(f.ie), f.p, f.len);
	}
	(void)nf_iter_err(&it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmpl_store_mem mem;
	if (tmpl_store_mem_init(&mem, 8) != ERR_OK)
		return 0;
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	run(&nf9_codec, data, size, &ts);
	run(&nf9_codec, data, size, &ts); /* again, with the templates learnt */
	tmpl_store_mem_free(&mem);
	return 0;
}
