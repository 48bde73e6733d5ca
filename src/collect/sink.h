/* sink.h — where ipflow-collect puts records: the file store (-w DIR),
 * JSON lines / CSV (-o jsonl:PATH | csv:PATH), ClickHouse
 * (-o clickhouse:URL), Kafka (-o kafka:BROKERS/TOPIC). A table of schemes,
 * as transport.h has: sink_open() picks by the spec's prefix.
 *
 * Contract: write() takes one record and never blocks for long (a sink
 * that talks to a server queues, spools or drops, and counts); tick() is
 * called at least once a second with the wall clock, for rotation and
 * batching deadlines; close() flushes what it can and frees. A record a
 * sink cannot keep is counted in st.dropped, never lost silently.
 * Ownership: sink_open's result belongs to the caller (sink_close). */
#ifndef IPFLOW_SINK_H
#define IPFLOW_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect/crec.h"

struct sink_stats {
	uint64_t records;    /* records taken */
	uint64_t written;    /* records durably written / acknowledged by the server */
	uint64_t dropped;    /* records lost: write error, spool full, queue full */
	uint64_t errors;     /* write / server errors seen */
};

struct sink;

struct sink_ops {
	const char *scheme;  /* "jsonl", "csv", "dir", "clickhouse", "kafka" */
	struct sink *(*open)(const char *rest, char *err, size_t errlen);
	int (*write)(struct sink *s, const struct crec *r);
	void (*tick)(struct sink *s, uint64_t now_us);
	void (*close)(struct sink *s);
	/* Optional: print the sink's own counters (show / --stats). */
	void (*show)(const struct sink *s, FILE *out);
	/* Optional: the end of input — write out and publish everything held
	 * (open files, partial batches), so the counters that follow are
	 * final. After it only show and close are called. */
	void (*finish)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	struct sink_stats st;
	char err[256];       /* last error, "" if none */
};

/* Open from a spec: "jsonl:PATH", "csv:PATH" (PATH "-" is stdout),
 * "dir:DIR" (the file store, what -w DIR means), "clickhouse:URL",
 * "kafka:BROKERS/TOPIC". NULL with a message in err on error. */
struct sink *sink_open(const char *spec, char *err, size_t errlen);
int sink_write(struct sink *s, const struct crec *r);
void sink_tick(struct sink *s, uint64_t now_us);
void sink_finish(struct sink *s); /* no-op for a sink without finish */
void sink_close(struct sink *s); /* NULL-safe */

#endif
