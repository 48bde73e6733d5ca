/* sink.c — the table of sink schemes (sink.h). This copy holds only the
 * file store ("dir"); the collector's own sinks join it at the merge. */
#include "collect/sink.h"

#include <string.h>

#include "collect/store.h"

static const struct sink_ops *const sinks[] = {
	&sink_dir_ops,
};

struct sink *sink_open(const char *spec, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : 0;
	for (size_t i = 0; colon && i < sizeof(sinks) / sizeof(sinks[0]); i++) {
		if (strlen(sinks[i]->scheme) == n && memcmp(sinks[i]->scheme, spec, n) == 0) {
			struct sink *s = sinks[i]->open(colon + 1, err, errlen);
			if (s)
				s->ops = sinks[i];
			return s;
		}
	}
	snprintf(err, errlen, "`%s': unknown output (want dir:DIR)", spec);
	return NULL;
}

int sink_write(struct sink *s, const struct crec *r)
{
	return s->ops->write(s, r);
}

void sink_tick(struct sink *s, uint64_t now_us)
{
	s->ops->tick(s, now_us);
}

void sink_close(struct sink *s)
{
	if (s)
		s->ops->close(s);
}
