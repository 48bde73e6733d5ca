/* fuzz_session_persist.c — libFuzzer target: the templates file reader
 * (session_persist.c). Any image must be accepted whole or refused whole;
 * when accepted, what it loaded is saved again and must load back to the
 * same number of templates (a round trip through the writer). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "collect/session.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	log_level_cur = -1;
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	cfg.max_templates = 256;
	struct coll *c = coll_new(&cfg, err, sizeof(err));
	if (!c)
		return 0;
	int n = coll_persist_parse(c, data, size, 1700000000000000ull, err, sizeof(err));
	if (n < 0 && coll_template_count(c) != 0)
		abort(); /* refused, yet something was loaded */
	if (n > 0) {
		char path[] = "/tmp/ipflow-fuzz-persist.XXXXXX";
		int fd = mkstemp(path);
		if (fd >= 0) {
			close(fd);
			if (coll_persist_save(c, path, err, sizeof(err)) == 0) {
				struct coll *d = coll_new(&cfg, err, sizeof(err));
				if (d) {
					int m = coll_persist_load(d, path, 1700000000000000ull, err, sizeof(err));
					if (m < 0 || coll_template_count(d) != coll_template_count(c))
						abort(); /* what we write, we must read back */
					coll_free(d);
				}
			}
			unlink(path);
		}
	}
	coll_free(c);
	return 0;
}
