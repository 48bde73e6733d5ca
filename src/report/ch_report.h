/* ch_report.h — the ClickHouse backend of `ipflow report`: the same
 * struct report_query the file store answers (report.h), run as SQL over
 * the raw flows table ipflow-collect -o clickhouse: fills (ch_schema.h),
 * filling the same struct report_result, so one printer serves both.
 *
 * The semantics of report.h are kept in SQL:
 *   window     on flowEndMilliseconds, or the receive time when the exporter
 *              sent no end time (ClickHouse keeps milliseconds and seconds,
 *              so a bound inside a millisecond/second may differ from the
 *              file store's microseconds);
 *   filters    ANDed; prefixes as a byte range over the 16-byte column with
 *              the address family; --port only for TCP, UDP, SCTP, DCCP,
 *              UDP-Lite;
 *   both keys  arrayJoin over [source, destination] (one value if equal);
 *              port keys give 0 to protocols without ports;
 *   unsample   packets and bytes times samplingInterval (when > 1);
 *   order      the counter descending, then the key ascending (address
 *              family first, then bytes);
 *   totals     over every matching row, in a query of their own.
 * The raw table is read (the rollups have no addresses or ports).
 * Ownership: res is filled for the caller (report_result_free). */
#ifndef IPFLOW_CH_REPORT_H
#define IPFLOW_CH_REPORT_H

#include <stddef.h>

#include "report/report.h"

/* url: http://HOST:PORT/DB.TABLE with the sink's options (credentials=,
 * timeout=; see ch_http.h). ERR_OK, or an error with err set. */
int report_run_clickhouse(const char *url, const struct report_query *q, struct report_result *res, char *err,
                          size_t errlen);

/* The SQL for q over db.table: rows (the top N), totals and the number of
 * distinct keys, each NUL-terminated into its buffer. For tests.
 * ERR_NOSPACE if a buffer is too small. */
int ch_report_sql(const char *db, const char *table, const struct report_query *q, char *rows, size_t rowslen,
                  char *totals, size_t totlen, char *keys, size_t keyslen);

#endif
