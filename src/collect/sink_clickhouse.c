/* sink_clickhouse.c — -o clickhouse:http://HOST:PORT/DB.TABLE[?opts]
 *
 * Records become RowBinary rows (ch_schema.h) in a batch; a batch leaves
 * at batch= rows (default 100 000) or interval= seconds after its first
 * row (default 2), whichever is first, and never spans two UTC days, so
 * one insert is one part of one partition: ClickHouse commits it whole or
 * not at all. The collector's thread only encodes rows and hands full
 * batches to a bounded queue (queue= batches); a sender thread POSTs them
 * (libcurl, keep-alive, gzip=1 optional). If the queue is full the batch
 * is dropped and counted: the receive loop never waits on the server.
 *
 * When the server is unreachable, slow (timeout=) or answers an error,
 * the batch goes to the on-disk spool (spool.h; spool=DIR, spool_size=,
 * default 1 GiB) and so does every batch after it while the spool is not
 * empty, so the order is kept; the sender retries with exponential backoff
 * (up to backoff_max=) and replays the spool oldest first. A restart
 * replays what the last run left. At close the sender keeps going for
 * close_timeout= seconds, then spools the rest.
 *
 * No duplicates after a retry. Each batch has a random 64-bit id, written
 * in every row (batchId) and used as the insert's query_id
 * ("ipflow-<id>"). Before a batch that may already have reached the
 * server is sent again (every spooled batch, and any batch whose previous
 * attempt failed after sending), one query asks both whether that insert
 * is still running (system.processes) and how many rows with its batchId
 * the table holds within the batch's time range (partition and primary
 * key pruning make that cheap): running → ask again later; all rows → done
 * (counted as deduplicated); none → send. A part is atomic, so a partial
 * count cannot come from our own insert; if seen it is reported and the
 * missing rows counted as dropped rather than risking duplicates. The
 * query_id also makes the server refuse a resend while the first is still
 * running. This works on 18.16, whose insert deduplication needs a
 * Replicated table; on servers >= 22.2 the insert also carries
 * insert_deduplication_token=<id> (with the table's
 * non_replicated_deduplication_window from --clickhouse-init).
 *
 * The table is checked once per connection start (system.columns): every
 * column this sink writes must be there with its type, since RowBinary
 * into a column of another width would be misread, not refused. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/ch_http.h"
#include "collect/ch_schema.h"
#include "collect/sink.h"
#include "collect/spool.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/log.h"

extern const struct sink_ops sink_clickhouse_ops;

struct ch_batch {
	struct ch_batch *next;
	uint64_t id;
	uint32_t rows;
	uint32_t tmin, tmax;  /* collectionTimeSeconds range */
	uint32_t day;
	uint64_t deadline;    /* monotonic us: leaves by then (interval after its first row) */
	uint8_t attempted;    /* an insert of it may have reached the server */
	uint8_t *data;
	size_t len, cap;
};

/* Counters shared between the threads (under mu). */
struct chs_count {
	uint64_t rows_written;   /* acknowledged by the server */
	uint64_t rows_dedup;     /* found already in the table before a resend */
	uint64_t batches_sent;
	uint64_t drop_queue;     /* rows dropped: queue full */
	uint64_t drop_partial;   /* rows missing from a partially present batch */
	uint64_t drop_nospool;   /* rows left at close with no spool to keep them */
	uint64_t drop_spool_err; /* rows whose batch could not be written to the spool */
	uint64_t spooled;        /* batches put in the spool */
	uint64_t replayed;       /* batches sent from the spool */
	uint64_t fail_connect, fail_transport, fail_server, fail_schema;
	uint64_t checks;         /* presence checks before a resend */
	struct spool_stats sp;
	int server_up;
	char server_version[32];
};

struct sink_ch {
	struct sink base;
	struct ch_cfg cfg;
	char insert_sql[2048];
	size_t rowsz;
	size_t batch_cap;
	/* the collector's thread */
	struct ch_batch *cur[2];  /* open batches: two UTC days at most (replays near midnight) */
	uint64_t id_seed, id_ctr;
	/* shared */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t room;     /* block=1: signalled when a batch leaves the queue */
	struct ch_batch *qhead, *qtail;
	unsigned qlen;
	struct ch_batch *pool;
	unsigned npool;
	int stop;
	uint64_t stop_deadline;  /* monotonic us */
	struct chs_count c;
	char last_err[256];
	/* the sender thread */
	pthread_t th;
	int th_started;
	struct spool *spool;
	struct ch_http http;
	int schema_ok;
	struct ch_features feat;
	uint64_t next_try;       /* monotonic us */
	unsigned backoff_ms;
	struct ch_batch *pending; /* no spool: the batch being retried */
	int insert_ambiguous;     /* the last failure was an insert that may have landed */
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* ------------------------------------------------------------ batches */

static void batch_free(struct ch_batch *b)
{
	if (!b)
		return;
	free(b->data);
	free(b);
}

/* A batch from the pool or new; NULL if out of memory. */
static struct ch_batch *batch_get(struct sink_ch *s)
{
	struct ch_batch *b = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->pool) {
		b = s->pool;
		s->pool = b->next;
		s->npool--;
	}
	pthread_mutex_unlock(&s->mu);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		b->cap = s->batch_cap;
		b->data = malloc(b->cap);
		if (!b->data) {
			free(b);
			return NULL;
		}
	}
	b->next = NULL;
	b->rows = 0;
	b->len = 0;
	b->attempted = 0;
	return b;
}

/* Back to the pool (kept up to 2 buffers), else freed. */
static void batch_put(struct sink_ch *s, struct ch_batch *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->npool < 2 && b->cap == s->batch_cap) {
		b->next = s->pool;
		s->pool = b;
		s->npool++;
		b = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	batch_free(b);
}

static void set_err(struct sink_ch *s, const char *what, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->last_err, sizeof(s->last_err), "%s: %.230s", what, msg);
	pthread_mutex_unlock(&s->mu);
}

/* --------------------------------------------------------- sender side */

static void count_fail(struct sink_ch *s, int r)
{
	pthread_mutex_lock(&s->mu);
	if (r == CH_E_CONNECT)
		s->c.fail_connect++;
	else if (r == CH_E_SERVER)
		s->c.fail_server++;
	else
		s->c.fail_transport++;
	s->c.server_up = 0;
	pthread_mutex_unlock(&s->mu);
}

static void went_down(struct sink_ch *s)
{
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 250;
	if (s->backoff_ms > s->cfg.backoff_max_ms)
		s->backoff_ms = s->cfg.backoff_max_ms;
	s->next_try = mono_us() + (uint64_t)s->backoff_ms * 1000u;
	s->schema_ok = 0; /* check again once back: it may be a new server */
}

static void came_up(struct sink_ch *s)
{
	s->backoff_ms = 0;
	s->next_try = 0;
	pthread_mutex_lock(&s->mu);
	s->c.server_up = 1;
	pthread_mutex_unlock(&s->mu);
}

static int type_matches(const char *have, const char *want)
{
	/* DateTime('UTC') may be shown as DateTime('UTC') or, by a server
	 * whose time zone is UTC, as plain DateTime */
	if (strcmp(have, want) == 0)
		return 1;
	return strncmp(want, "DateTime", 8) == 0 && strcmp(have, "DateTime") == 0;
}

/* Once per connection start: the server version (features) and the
 * table's columns. CH_OK, or a failure (counted by the caller). */
static int check_server(struct sink_ch *s)
{
	if (s->schema_ok)
		return CH_OK;
	int r = ch_http_sql(&s->http, &s->cfg, "SELECT version()");
	if (r != CH_OK)
		return r;
	int major = 0, minor = 0;
	char ver[32];
	snprintf(ver, sizeof(ver), "%.*s", (int)strcspn(s->http.resp, "\r\n\t"), s->http.resp);
	if (ch_parse_version(ver, &major, &minor) == ERR_OK)
		ch_features_for(major, minor, &s->feat);
	pthread_mutex_lock(&s->mu);
	snprintf(s->c.server_version, sizeof(s->c.server_version), "%s", ver);
	pthread_mutex_unlock(&s->mu);

	char sql[512];
	snprintf(sql, sizeof(sql),
	         "SELECT name, type FROM system.columns WHERE database = '%s' AND table = '%s' FORMAT TabSeparated",
	         s->cfg.db, s->cfg.table);
	r = ch_http_sql(&s->http, &s->cfg, sql);
	if (r != CH_OK)
		return r;
	char missing[256] = "";
	for (size_t i = 0; i < ch_ncols && !missing[0]; i++) {
		const char *want = NULL;
		static const char *const sqltype[] = { "DateTime('UTC')", "UInt8", "UInt16", "UInt32", "UInt64",
		                                       "FixedString(16)" };
		want = sqltype[ch_cols[i].type];
		int found = 0;
		for (char *line = s->http.resp; line && *line;) {
			char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			char *tab = memchr(line, '\t', len);
			if (tab && (size_t)(tab - line) == strlen(ch_cols[i].name) &&
			    memcmp(line, ch_cols[i].name, (size_t)(tab - line)) == 0) {
				/* TabSeparated escapes quotes: DateTime(\'UTC\') */
				char have[64];
				size_t k = 0;
				for (const char *t = tab + 1; t < line + len && k + 1 < sizeof(have); t++)
					if (*t != '\\')
						have[k++] = *t;
				have[k] = '\0';
				if (!type_matches(have, want))
					snprintf(missing, sizeof(missing), "column %s is %s, not %s", ch_cols[i].name, have, want);
				found = 1;
				break;
			}
			line = nl ? nl + 1 : NULL;
		}
		if (!found && !missing[0])
			snprintf(missing, sizeof(missing), "no column %s", ch_cols[i].name);
	}
	if (missing[0]) {
		snprintf(s->http.err, sizeof(s->http.err), "table %s.%s: %s (create it with ipflow-collect --clickhouse-init)",
		         s->cfg.db, s->cfg.table, missing);
		pthread_mutex_lock(&s->mu);
		s->c.fail_schema++;
		pthread_mutex_unlock(&s->mu);
		return CH_E_SERVER;
	}
	s->schema_ok = 1;
	pthread_mutex_lock(&s->mu);
	s->c.server_up = 1;
	pthread_mutex_unlock(&s->mu);
	return CH_OK;
}

static int do_insert(struct sink_ch *s, const uint8_t *data, size_t len, uint64_t id)
{
	char params[160];
	int n = snprintf(params, sizeof(params), "query_id=ipflow-%016" PRIx64, id);
	if (s->feat.dedup_token)
		snprintf(params + n, sizeof(params) - (size_t)n, "&insert_deduplication_token=%016" PRIx64, id);
	return ch_http_post(&s->http, &s->cfg, s->insert_sql, params, data, len, (int)s->cfg.gzip);
}

enum presence { P_ABSENT, P_PRESENT, P_RUNNING, P_PARTIAL, P_ERROR };

/* Is batch id (rows rows, times tmin..tmax) in the table already? */
static int presence(struct sink_ch *s, uint64_t id, uint32_t rows, uint32_t tmin, uint32_t tmax, uint64_t *have)
{
	char sql[768];
	snprintf(sql, sizeof(sql),
	         "SELECT (SELECT count() FROM system.processes WHERE query_id = 'ipflow-%016" PRIx64 "'), count() "
	         "FROM %s.%s WHERE collectionTimeSeconds >= toDateTime(%u) AND collectionTimeSeconds <= toDateTime(%u) "
	         "AND batchId = %" PRIu64 " FORMAT TabSeparated",
	         id, s->cfg.db, s->cfg.table, tmin, tmax, id);
	pthread_mutex_lock(&s->mu);
	s->c.checks++;
	pthread_mutex_unlock(&s->mu);
	int r = ch_http_sql(&s->http, &s->cfg, sql);
	if (r != CH_OK)
		return -r; /* negative: the ch_result */
	unsigned long long running = 0, count = 0;
	if (sscanf(s->http.resp, "%llu\t%llu", &running, &count) != 2) {
		snprintf(s->http.err, sizeof(s->http.err), "presence check: unexpected answer");
		return -CH_E_SERVER;
	}
	*have = count;
	if (running)
		return P_RUNNING;
	if (count == 0)
		return P_ABSENT;
	return count >= rows ? P_PRESENT : P_PARTIAL;
}

enum send_res { SENT, SENT_DEDUP, SENT_PARTIAL, SEND_LATER };

/* Send one batch (checked first if it may be there already). SEND_LATER:
 * the server is down or busy with it; backoff has been set. */
static int send_batch(struct sink_ch *s, const uint8_t *data, size_t len, uint64_t id, uint32_t rows,
                      uint32_t tmin, uint32_t tmax, int check, uint64_t *have)
{
	s->insert_ambiguous = 0;
	int r = check_server(s);
	if (r != CH_OK)
		goto fail;
	if (check) {
		int p = presence(s, id, rows, tmin, tmax, have);
		if (p < 0) {
			r = -p;
			goto fail;
		}
		if (p == P_RUNNING) {
			/* the earlier insert is still running: look again soon */
			s->next_try = mono_us() + 500000u;
			return SEND_LATER;
		}
		if (p == P_PRESENT) {
			came_up(s);
			return SENT_DEDUP;
		}
		if (p == P_PARTIAL) {
			came_up(s);
			return SENT_PARTIAL;
		}
	}
	r = do_insert(s, data, len, id);
	s->insert_ambiguous = r != CH_OK && r != CH_E_CONNECT;
	if (r == CH_OK) {
		came_up(s);
		return SENT;
	}
fail:
	count_fail(s, r);
	set_err(s, r == CH_E_SERVER ? "server" : "transport", s->http.err);
	if (log_level_cur >= LOG_LVL_WARN) {
		static struct log_rl rl;
		if (log_ratelimit(&rl))
			log_warn("clickhouse %s%s.%s: %s", s->cfg.base, s->cfg.db, s->cfg.table, s->http.err);
	}
	went_down(s);
	return SEND_LATER;
}

static void account_sent(struct sink_ch *s, int res, uint64_t id, uint32_t rows, uint64_t have, int from_spool)
{
	pthread_mutex_lock(&s->mu);
	if (res == SENT) {
		s->c.rows_written += rows;
		s->c.batches_sent++;
	} else if (res == SENT_DEDUP) {
		s->c.rows_dedup += rows;
	} else if (res == SENT_PARTIAL) {
		s->c.rows_dedup += have;
		s->c.drop_partial += rows - have;
	}
	if (from_spool && res != SEND_LATER)
		s->c.replayed++;
	pthread_mutex_unlock(&s->mu);
	if (res == SENT_PARTIAL)
		log_err("clickhouse: batch %016" PRIx64 " is in the table with %" PRIu64 " of its %u rows; not resent, "
		        "%" PRIu64 " rows counted as dropped",
		        id, have, rows, rows - have);
}

static void snapshot_spool(struct sink_ch *s)
{
	if (!s->spool)
		return;
	pthread_mutex_lock(&s->mu);
	spool_get_stats(s->spool, &s->c.sp);
	pthread_mutex_unlock(&s->mu);
}

/* Park b in the spool (sender thread); b goes back to the pool. */
static void to_spool(struct sink_ch *s, struct ch_batch *b)
{
	struct spool_item it = { .batch_id = b->id, .meta = (uint64_t)b->tmin << 32 | b->tmax, .rows = b->rows,
	                         .flags = b->attempted, .data = b->data, .len = b->len };
	int rc = spool_put(s->spool, &it);
	pthread_mutex_lock(&s->mu);
	if (rc == ERR_OK)
		s->c.spooled++;
	else if (rc != ERR_FULL) /* ERR_FULL is counted by the spool itself */
		s->c.drop_spool_err += b->rows;
	pthread_mutex_unlock(&s->mu);
	if (rc != ERR_OK && rc != ERR_FULL)
		set_err(s, "spool", strerror(errno));
	snapshot_spool(s);
	batch_put(s, b);
}

/* Replay the spool's oldest batch. 1 if it left the spool. */
static int replay_one(struct sink_ch *s)
{
	struct spool_item it;
	int rc = spool_peek(s->spool, &it);
	if (rc != ERR_OK) {
		if (rc != ERR_END) {
			/* the oldest batch cannot be read now (I/O, memory): it stays;
			 * try again after a pause rather than spin */
			set_err(s, "spool", rc == ERR_NOMEM ? "out of memory reading a batch" : strerror(errno));
			s->next_try = mono_us() + 1000000u;
		}
		snapshot_spool(s);
		return 0;
	}
	uint64_t have = 0;
	int res = send_batch(s, it.data, it.len, it.batch_id, it.rows, (uint32_t)(it.meta >> 32), (uint32_t)it.meta,
	                     1, &have);
	spool_item_free(&it);
	if (res == SEND_LATER)
		return 0;
	spool_pop(s->spool);
	account_sent(s, res, it.batch_id, it.rows, have, 1);
	snapshot_spool(s);
	return 1;
}

/* Send a fresh (or pending) batch. 1 if it is done with. */
static int send_fresh(struct sink_ch *s, struct ch_batch *b)
{
	uint64_t have = 0;
	int res = send_batch(s, b->data, b->len, b->id, b->rows, b->tmin, b->tmax, b->attempted, &have);
	if (res == SEND_LATER) {
		/* an insert that failed after connecting may have reached the
		 * server: check before sending it again */
		if (s->insert_ambiguous)
			b->attempted = 1;
		return 0;
	}
	account_sent(s, res, b->id, b->rows, have, 0);
	batch_put(s, b);
	return 1;
}

static void timed_wait(struct sink_ch *s, uint64_t now, uint64_t until)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t wake_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (until - now) * 1000ull;
	ts.tv_sec = (time_t)(wake_ns / 1000000000ull);
	ts.tv_nsec = (long)(wake_ns % 1000000000ull);
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* The sender: moves queued batches to the server, or to the spool behind
 * older ones or while the server is down; replays the spool when the
 * backoff allows; at stop, keeps going until the deadline, then spools
 * (or, without a spool, drops and counts) what is left. */
static void *sender_main(void *arg)
{
	struct sink_ch *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		uint64_t now = mono_us();
		int can_try = now >= s->next_try;
		int spool_has = s->spool && s->c.sp.batches > 0;
		int past = s->stop && now >= s->stop_deadline;
		int take_ok = s->qlen > 0 && (s->spool || past || (!s->pending && can_try));
		if (!take_ok) {
			if (s->stop && s->qlen == 0 && !s->pending &&
			    (!spool_has || past || s->next_try > s->stop_deadline)) {
				pthread_mutex_unlock(&s->mu);
				break;
			}
			if (past && s->pending) {
				s->c.drop_nospool += s->pending->rows;
				struct ch_batch *p = s->pending;
				s->pending = NULL;
				pthread_mutex_unlock(&s->mu);
				batch_put(s, p);
				continue;
			}
			if (!(can_try && (spool_has || s->pending))) {
				uint64_t until = now + 1000000u;
				if (s->next_try > now && s->next_try < until)
					until = s->next_try;
				if (s->stop && s->stop_deadline > now && s->stop_deadline < until)
					until = s->stop_deadline;
				timed_wait(s, now, until);
				pthread_mutex_unlock(&s->mu);
				continue;
			}
			pthread_mutex_unlock(&s->mu);
			if (s->pending) {
				if (send_fresh(s, s->pending))
					s->pending = NULL;
			} else {
				replay_one(s);
			}
			continue;
		}
		struct ch_batch *b = s->qhead;
		s->qhead = b->next;
		if (!s->qhead)
			s->qtail = NULL;
		s->qlen--;
		pthread_cond_signal(&s->room);
		pthread_mutex_unlock(&s->mu);

		if (s->spool && (spool_has || !can_try || past)) {
			to_spool(s, b);
			continue;
		}
		if (!s->spool && past) {
			pthread_mutex_lock(&s->mu);
			s->c.drop_nospool += b->rows;
			pthread_mutex_unlock(&s->mu);
			batch_put(s, b);
			continue;
		}
		if (!send_fresh(s, b)) {
			if (s->spool)
				to_spool(s, b);
			else
				s->pending = b;
		}
	}
	return NULL;
}

/* ------------------------------------------------------ collector side */

/* Hand open batch k to the sender; drop and count if the queue is full. */
static void submit(struct sink_ch *s, int k)
{
	struct ch_batch *b = s->cur[k];
	s->cur[k] = NULL;
	if (!b)
		return;
	if (b->rows == 0) {
		batch_put(s, b);
		return;
	}
	pthread_mutex_lock(&s->mu);
	while (s->cfg.block && s->qlen >= s->cfg.queue && !s->stop)
		pthread_cond_wait(&s->room, &s->mu);
	if (s->qlen >= s->cfg.queue) {
		s->c.drop_queue += b->rows;
		pthread_mutex_unlock(&s->mu);
		if (log_level_cur >= LOG_LVL_WARN) {
			static struct log_rl rl;
			if (log_ratelimit(&rl))
				log_warn("clickhouse: sender queue full (%u batches): %u rows dropped", s->cfg.queue, b->rows);
		}
		batch_put(s, b);
		return;
	}
	if (s->qtail)
		s->qtail->next = b;
	else
		s->qhead = b;
	s->qtail = b;
	s->qlen++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void refresh_stats(struct sink_ch *s)
{
	pthread_mutex_lock(&s->mu);
	const struct chs_count *c = &s->c;
	s->base.st.written = c->rows_written + c->rows_dedup;
	s->base.st.dropped = c->drop_queue + c->drop_partial + c->drop_nospool + c->drop_spool_err + c->sp.dropped_rows +
	                     c->sp.corrupt_rows;
	s->base.st.errors = c->fail_connect + c->fail_transport + c->fail_server + c->sp.io_errors;
	snprintf(s->base.err, sizeof(s->base.err), "%s", s->last_err);
	pthread_mutex_unlock(&s->mu);
}

static int chs_write(struct sink *sk, const struct crec *r)
{
	struct sink_ch *s = (struct sink_ch *)sk;
	s->base.st.records++;
	uint32_t day = ch_row_day(r);
	/* the open batch of this day; else an empty slot; else the older
	 * day's batch leaves and its slot is reused */
	int k = -1;
	for (int i = 0; i < 2; i++)
		if (s->cur[i] && s->cur[i]->rows && s->cur[i]->day == day)
			k = i;
	if (k < 0) {
		for (int i = 0; i < 2 && k < 0; i++)
			if (!s->cur[i] || !s->cur[i]->rows)
				k = i;
		if (k < 0) {
			k = s->cur[0]->day < s->cur[1]->day ? 0 : 1;
			submit(s, k);
		}
	}
	if (!s->cur[k]) {
		s->cur[k] = batch_get(s);
		if (!s->cur[k]) {
			pthread_mutex_lock(&s->mu);
			s->c.drop_queue++;
			pthread_mutex_unlock(&s->mu);
			return ERR_NOMEM;
		}
	}
	struct ch_batch *b = s->cur[k];
	uint32_t t = (uint32_t)(r->recv_us / 1000000u);
	if (b->rows == 0) {
		b->id = splitmix64(s->id_seed + s->id_ctr++);
		b->day = day;
		b->tmin = b->tmax = t;
		/* the sink's own clock, not the record's receive time: a replay
		 * of old records still waits interval, no longer */
		b->deadline = mono_us() + (uint64_t)s->cfg.interval_ms * 1000u;
	}
	if (t < b->tmin)
		b->tmin = t;
	if (t > b->tmax)
		b->tmax = t;
	ch_row_put(b->data + b->len, r, b->id);
	b->len += s->rowsz;
	b->rows++;
	if (b->rows >= s->cfg.batch_rows)
		submit(s, k);
	return ERR_OK;
}

/* Batches leave at their deadline (monotonic clock; now_us, the wall
 * clock, is not needed). */
static void chs_tick(struct sink *sk, uint64_t now_us)
{
	struct sink_ch *s = (struct sink_ch *)sk;
	(void)now_us;
	uint64_t now = mono_us();
	for (int k = 0; k < 2; k++) {
		struct ch_batch *b = s->cur[k];
		if (b && b->rows && now >= b->deadline)
			submit(s, k);
	}
	refresh_stats(s);
}

static void chs_free(struct sink_ch *s)
{
	batch_free(s->cur[0]);
	batch_free(s->cur[1]);
	while (s->qhead) {
		struct ch_batch *b = s->qhead;
		s->qhead = b->next;
		batch_free(b);
	}
	while (s->pool) {
		struct ch_batch *b = s->pool;
		s->pool = b->next;
		batch_free(b);
	}
	batch_free(s->pending);
	spool_close(s->spool);
	ch_http_free(&s->http);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->room);
	free(s);
}

static void chs_close(struct sink *sk)
{
	struct sink_ch *s = (struct sink_ch *)sk;
	submit(s, 0);
	submit(s, 1);
	if (s->th_started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		s->stop_deadline = mono_us() + (uint64_t)s->cfg.close_ms * 1000u;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
	}
	refresh_stats(s);
	/* the final counters: after the flush, so the only place they are exact */
	const struct chs_count *c = &s->c;
	log_note("clickhouse sink %s%s.%s closed: rows taken=%" PRIu64 " written=%" PRIu64 " dedup=%" PRIu64
	         " dropped=%" PRIu64 " spooled_left=%" PRIu64 " queue_full=%" PRIu64 " spool_full=%" PRIu64
	         " batches_sent=%" PRIu64 " replayed=%" PRIu64 " checks=%" PRIu64 " errors=%" PRIu64,
	         s->cfg.base, s->cfg.db, s->cfg.table, s->base.st.records, c->rows_written, c->rows_dedup,
	         s->base.st.dropped, c->sp.rows, c->drop_queue, c->sp.dropped_rows, c->batches_sent, c->replayed,
	         c->checks, s->base.st.errors);
	chs_free(s);
}

static void chs_show(const struct sink *sk, FILE *out)
{
	struct sink_ch *s = (struct sink_ch *)sk;
	pthread_mutex_lock(&s->mu);
	const struct chs_count *c = &s->c;
	fprintf(out, "ClickHouse sink %s%s.%s (server %s, %s)\n", s->cfg.base, s->cfg.db, s->cfg.table,
	        c->server_version[0] ? c->server_version : "not reached yet", c->server_up ? "up" : "down");
	fprintf(out, "  rows: %" PRIu64 " taken, %" PRIu64 " written, %" PRIu64 " found already written, %" PRIu64
	             " in spool\n",
	        s->base.st.records, c->rows_written, c->rows_dedup, c->sp.rows);
	fprintf(out, "  batches: %" PRIu64 " sent, %" PRIu64 " spooled, %" PRIu64 " replayed, %u queued, %" PRIu64
	             " presence checks\n",
	        c->batches_sent, c->spooled, c->replayed, s->qlen, c->checks);
	fprintf(out, "  dropped rows: %" PRIu64 " queue full, %" PRIu64 " spool full, %" PRIu64 " spool unreadable, %" PRIu64
	             " spool write failed, %" PRIu64 " partial batch, %" PRIu64 " no spool at exit\n",
	        c->drop_queue, c->sp.dropped_rows, c->sp.corrupt_rows, c->drop_spool_err, c->drop_partial, c->drop_nospool);
	if (s->spool)
		fprintf(out, "  spool %s: %" PRIu64 " batches, %" PRIu64 " of %" PRIu64 " bytes\n", spool_dir(s->spool),
		        c->sp.batches, c->sp.bytes, c->sp.max_bytes);
	else
		fprintf(out, "  spool: none\n");
	fprintf(out, "  failures: %" PRIu64 " connect, %" PRIu64 " transport/timeout, %" PRIu64 " server error (%" PRIu64
	             " schema), %" PRIu64 " spool I/O\n",
	        c->fail_connect, c->fail_transport, c->fail_server, c->fail_schema, c->sp.io_errors);
	if (s->last_err[0])
		fprintf(out, "  last error: %s\n", s->last_err);
	pthread_mutex_unlock(&s->mu);
}

static struct sink *chs_open(const char *rest, char *err, size_t errlen)
{
	struct sink_ch *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->room, NULL);
	if (ch_cfg_parse(rest, 1, &s->cfg, err, errlen) != ERR_OK)
		goto fail;
	if (ch_insert_sql(s->cfg.db, s->cfg.table, s->insert_sql, sizeof(s->insert_sql)) != ERR_OK) {
		snprintf(err, errlen, "clickhouse: insert statement too long");
		goto fail;
	}
	s->rowsz = ch_row_size();
	s->batch_cap = (size_t)s->cfg.batch_rows * s->rowsz;
	s->id_seed = hash_random_seed();
	if (ch_http_init(&s->http) != ERR_OK) {
		snprintf(err, errlen, "clickhouse: libcurl init failed");
		goto fail;
	}
	if (s->cfg.spool[0]) {
		s->spool = spool_open(s->cfg.spool, s->cfg.spool_bytes, err, errlen);
		if (!s->spool)
			goto fail;
		spool_get_stats(s->spool, &s->c.sp);
		if (s->c.sp.batches)
			log_note("clickhouse: spool %s holds %" PRIu64 " batches (%" PRIu64 " rows) from an earlier run; "
			         "replaying them first",
			         s->cfg.spool, s->c.sp.batches, s->c.sp.rows);
	}
	s->base.ops = &sink_clickhouse_ops;
	if (pthread_create(&s->th, NULL, sender_main, s) != 0) {
		snprintf(err, errlen, "clickhouse: cannot start the sender thread");
		goto fail;
	}
	s->th_started = 1;
	return &s->base;
fail:
	chs_free(s);
	return NULL;
}

const struct sink_ops sink_clickhouse_ops = {
	.scheme = "clickhouse",
	.open = chs_open,
	.write = chs_write,
	.tick = chs_tick,
	.close = chs_close,
	.show = chs_show,
};
