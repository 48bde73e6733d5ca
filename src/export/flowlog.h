/* flowlog.h — the flow log: every exported record written as a JSON line
 * (keys are IPFIX information element names) or a CSV row. A feature of
 * its own (an audit trail of flows), not a test hook.
 *
 * Spec: "PATH" or "jsonl:PATH" for JSON lines, "csv:PATH" for CSV; PATH
 * "-" is stdout. Output is buffered; flowlog_close() flushes and reports
 * any write error. */
#ifndef IPFLOW_FLOWLOG_H
#define IPFLOW_FLOWLOG_H

#include <stddef.h>
#include <stdint.h>

#include "cache/flowrec.h"

struct flowlog;

struct flowlog *flowlog_open(const char *spec, char *err, size_t errlen);
void flowlog_write(struct flowlog *fl, const struct flowrec *r);
uint64_t flowlog_records(const struct flowlog *fl);
/* Flush and close; 0, or -1 with a message in err if any write failed. */
int flowlog_close(struct flowlog *fl, char *err, size_t errlen);

/* Format one record as a JSON object (no newline) into buf; returns the
 * length, or 0 if it does not fit. Used by the flow log and the CLI. */
size_t flowlog_format_json(const struct flowrec *r, char *buf, size_t cap);

/* The CSV row of one record (no newline), and the header row naming its
 * columns; length, or 0 if it does not fit. Used by the flow log and the
 * collector's csv: sink. */
size_t flowlog_format_csv(const struct flowrec *r, char *buf, size_t cap);
size_t flowlog_csv_header(char *buf, size_t cap);

#endif
