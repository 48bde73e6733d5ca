/* sink.c — the table of sink schemes (sink.h), and the null sink.
 *
 * "null:" keeps nothing and counts what it is given: for benchmarks and
 * for decoding a capture only to read the counters. The others: jsonl/csv
 * (sink_json.c), the file store "dir:DIR" that -w DIR opens (sink_file.c),
 * ClickHouse (sink_clickhouse.c) and Kafka (sink_kafka.c). */
#include "collect/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/store.h"

extern const struct sink_ops sink_jsonl_ops, sink_csv_ops, sink_clickhouse_ops, sink_kafka_ops;

static struct sink *null_open(const char *rest, char *err, size_t errlen)
{
	(void)rest;
	struct sink *s = calloc(1, sizeof(*s));
	if (!s)
		snprintf(err, errlen, "out of memory");
	return s;
}

static int null_write(struct sink *s, const struct crec *r)
{
	(void)r;
	s->st.records++;
	s->st.written++;
	return 0;
}

static void null_tick(struct sink *s, uint64_t now_us)
{
	(void)s;
	(void)now_us;
}

static void null_close(struct sink *s)
{
	free(s);
}

static const struct sink_ops sink_null_ops = {
	.scheme = "null", .open = null_open, .write = null_write, .tick = null_tick, .close = null_close,
};

static const struct sink_ops *const sinks[] = {
	&sink_jsonl_ops,
	&sink_csv_ops,
	&sink_null_ops,
	&sink_dir_ops,
	&sink_clickhouse_ops,
	&sink_kafka_ops,
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
	snprintf(err, errlen, "'%s': unknown output (want jsonl:PATH, csv:PATH, null:, dir:DIR, clickhouse:URL or "
	                      "kafka:BROKERS/TOPIC)", spec);
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

void sink_finish(struct sink *s)
{
	if (s->ops->finish)
		s->ops->finish(s);
}

void sink_close(struct sink *s)
{
	if (s)
		s->ops->close(s);
}
