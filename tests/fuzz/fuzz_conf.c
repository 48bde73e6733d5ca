/* fuzz_conf.c — libFuzzer target: the configuration parser. Any input is
 * parsed line by line with diagnostics formatted; an accepted model is
 * printed as running-config, which must parse back to an equal model
 * (abort otherwise, so the fuzzer reports it). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void report(void *arg, const struct conf_diag *d)
{
	conf_diag_print(arg, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *sink = fopen("/dev/null", "w");
	if (!sink)
		return 0;
	struct conf *c = conf_parse_text((const char *)data, size, "fuzz.conf", report, sink);
	if (c) {
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		if (m) {
			conf_write(m, c);
			fclose(m);
			struct conf *c2 = conf_parse_text(text, len, "running-config", report, sink);
			if (!c2 || !conf_equal(c, c2)) {
				fprintf(stderr, "running-config does not round-trip:\n%s", text);
				abort();
			}
			conf_free(c2);
			free(text);
		}
		conf_free(c);
	}
	fclose(sink);
	return 0;
}
