/* fuzz_nf8.c — libFuzzer target: the NetFlow v8 decoder (every aggregation
 * scheme's layout; the header's scheme byte picks one). Every item is
 * walked field by field, formatted through the catalog and mapped to a
 * flowrec, so the whole read side sees the input. */
#include <stddef.h>
#include <stdint.h>

#include "export/export.h"
#include "export/ie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nf_iter it;
	struct nf_item item;
	int rc = nf8_codec.iter_init(&it, data, size, NULL);
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
	return 0;
}
