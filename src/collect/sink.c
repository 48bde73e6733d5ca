/* sink.c — the sink scheme table (sink.h): the file store (dir), ClickHouse
 * and Kafka; the collector's branch brings jsonl, csv and null, and the
 * tables are merged there. */
#include "collect/sink.h"

#include <stdio.h>
#include <string.h>

#include "collect/store.h"

extern const struct sink_ops sink_clickhouse_ops, sink_kafka_ops;

static const struct sink_ops *const sink_schemes[] = {
	&sink_dir_ops,
	&sink_clickhouse_ops,
	&sink_kafka_ops,
};

struct sink *sink_open(const char *spec, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	if (!colon) {
		snprintf(err, errlen, "sink `%s': expected SCHEME:WHERE", spec);
		return NULL;
	}
	size_t n = (size_t)(colon - spec);
	for (size_t i = 0; i < sizeof(sink_schemes) / sizeof(sink_schemes[0]); i++) {
		const struct sink_ops *o = sink_schemes[i];
		if (strlen(o->scheme) == n && strncmp(o->scheme, spec, n) == 0) {
			struct sink *s = o->open(colon + 1, err, errlen);
			if (s)
				s->ops = o;
			return s;
		}
	}
	snprintf(err, errlen, "sink `%s': unknown scheme `%.*s'", spec, (int)n, spec);
	return NULL;
}

int sink_write(struct sink *s, const struct crec *r)
{
	return s->ops->write(s, r);
}

void sink_tick(struct sink *s, uint64_t now_us)
{
	if (s->ops->tick)
		s->ops->tick(s, now_us);
}

void sink_close(struct sink *s)
{
	if (s)
		s->ops->close(s);
}
