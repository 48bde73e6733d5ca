/* sink_file.c — the file store sink: "dir:DIR[,key=value...]", what
 * `ipflow-collect -w DIR` opens. One file per exporter per interval, in
 * the format of store.h (doc/store-format.md).
 *
 * DIR may not contain a comma. Options (all optional; a table below holds
 * ranges and defaults):
 *   interval=SEC  seconds per file (300)        block=KIB   KiB of records per block (128)
 *   codec=lz4|zstd  block compression (lz4: the fastest to write; zstd:
 *                 some 15 % smaller files for some 15 % more CPU)
 *   accel=N       LZ4 acceleration (4: some 3 % larger files than 1, and
 *                 5-10 % faster to write, bench/collect.sh)
 *   level=N       zstd level (1)                max_open=N  files open at once (256)
 *   flush=SEC     a record waits at most SEC in memory before its block is
 *                 written to the .tmp file (10; 0 = only when the block is full)
 *
 * Records are filed by the time they were received (crec.recv_us, or the
 * last tick's clock if 0): interval start = t - t % interval. A file is
 * written as DIR/.tmp-<pid>-<n>.ipfs and, when its interval ends (tick)
 * or the sink closes, finished (header counts, fsync) and renamed without
 * replacing into DIR/YYYY/MM/DD/, whose directory is then fsynced. That
 * finishing runs inside write() (a record of a new interval) or tick(), so
 * the fsync's wait falls on the caller: about 0.1 s per 20 MB file on the
 * benchmark machine. (Starting write-back per block with sync_file_range
 * halved the write rate and did not shorten it much.)
 *
 * Memory: max_open * block KiB for the blocks in progress, plus one
 * compressed block. More exporters than max_open at once: the least
 * recently used one's file is finished early (counted as an eviction; its
 * next file in the same interval gets a ".1" suffix).
 *
 * Errors: a failed write cuts the file back to its last whole block and
 * publishes that; the block's records, and every record of that exporter
 * until the next interval, count in st.dropped (and st.errors once). The
 * next interval tries again, so a full disk costs the intervals it was
 * full for. A directory locked by another writer refuses to open.
 *
 * Start-up: .tmp files left by a writer that died (kill -9, power loss)
 * are recovered: their whole blocks are published like any file, the
 * partial block cut off; a .tmp without a valid header is removed. Both
 * are logged and counted (show). */
#include "collect/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect/store.h"
#include "lib/err.h"
#include "lib/log.h"

struct dir_cfg {
	long interval, block, level, accel, max_open, flush;
	int codec; /* STORE_CODEC_* */
};

/* The options of the spec: key, where it goes, range and default. */
static const struct dir_opt {
	const char *key;
	size_t off;
	long min, max, def;
} dir_opts[] = {
	{ "interval", offsetof(struct dir_cfg, interval), 1, 86400, 300 },
	{ "block", offsetof(struct dir_cfg, block), 4, 16384, 128 },
	{ "level", offsetof(struct dir_cfg, level), -7, 19, 1 },
	{ "accel", offsetof(struct dir_cfg, accel), 1, 65537, 4 },
	{ "max_open", offsetof(struct dir_cfg, max_open), 1, 65536, 256 },
	{ "flush", offsetof(struct dir_cfg, flush), 0, 86400, 10 },
};
#define NDIR_OPTS (sizeof(dir_opts) / sizeof(dir_opts[0]))

/* One exporter with a file open, or failed for the rest of an interval. */
struct dslot {
	uint8_t af;
	uint8_t addr[16];
	uint64_t start_s;          /* interval of the file (or of the failure) */
	uint64_t from_us, to_us;   /* that interval, [from_us, to_us) */
	struct store_writer *w;    /* NULL: none open */
	struct store_hdr h;        /* the file's identity, for its final name */
	uint64_t tmp_seq;          /* the file is DIR/.tmp-<pid>-<tmp_seq>.ipfs */
	uint64_t pending_since_us; /* when the oldest record not yet in a block came */
	uint64_t use;              /* LRU stamp */
	int failed;                /* drop this exporter's records until start_s + interval */
};

struct fjob;

struct dir_sink {
	struct sink base;
	struct dir_cfg cfg;
	char dir[PATH_MAX - 64];
	int lockfd;
	struct store_codec *codec;
	struct dslot *slot;
	size_t nslot, last;
	uint64_t now_us, use, seq;
	/* the finishing worker (see struct fjob) */
	pthread_t worker;
	int worker_on;
	pthread_mutex_t mu;          /* guards todo, done and stop */
	pthread_cond_t cv;
	struct fjob *todo, **todo_tail, *done;
	int stop;
	size_t inflight;             /* jobs handed out, not yet applied */
	/* counters (show) */
	uint64_t files, blocks, bytes, evicted, recovered, recovered_recs, tmp_removed, publish_suffix;
	struct log_rl rl;
};

static uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

__attribute__((format(printf, 2, 3))) static void dir_error(struct dir_sink *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->base.err, sizeof(d->base.err), fmt, ap);
	va_end(ap);
	d->base.st.errors++;
	if (log_ratelimit(&d->rl))
		log_err("file store: %s", d->base.err);
}

/* snprintf for messages that quote paths: cut at errlen, which is fine. */
__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int parse_spec(const char *rest, struct dir_cfg *cfg, char *dir, size_t dirlen, char *err, size_t errlen)
{
	for (size_t i = 0; i < NDIR_OPTS; i++)
		*(long *)((char *)cfg + dir_opts[i].off) = dir_opts[i].def;
	cfg->codec = STORE_CODEC_LZ4;
	const char *comma = strchr(rest, ',');
	size_t dl = comma ? (size_t)(comma - rest) : strlen(rest);
	if (dl == 0 || dl >= dirlen) {
		seterr(err, errlen, "`dir:%s': %s", rest, dl ? "directory name too long" : "no directory given");
		return ERR_ARG;
	}
	memcpy(dir, rest, dl);
	dir[dl] = 0;
	while (dl > 1 && dir[dl - 1] == '/')
		dir[--dl] = 0;
	for (const char *p = comma; p && *p;) {
		p++;
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		if (eq && eq - p == 5 && memcmp(p, "codec", 5) == 0) {
			size_t vl = n - 6;
			int k = vl == 3 && memcmp(eq + 1, "lz4", 3) == 0    ? STORE_CODEC_LZ4
			        : vl == 4 && memcmp(eq + 1, "zstd", 4) == 0 ? STORE_CODEC_ZSTD
			                                                    : 0;
			if (!k) {
				seterr(err, errlen, "dir sink: codec=%.*s: not lz4 or zstd", (int)vl, eq + 1);
				return ERR_ARG;
			}
			cfg->codec = k;
			p = end;
			continue;
		}
		const struct dir_opt *o = NULL;
		for (size_t i = 0; eq && i < NDIR_OPTS; i++)
			if (strlen(dir_opts[i].key) == (size_t)(eq - p) && memcmp(dir_opts[i].key, p, (size_t)(eq - p)) == 0)
				o = &dir_opts[i];
		if (!o) {
			seterr(err, errlen, "dir sink: unknown option `%.*s' (interval, block, codec, accel, level, max_open, flush)",
			         (int)n, p);
			return ERR_ARG;
		}
		char num[32];
		size_t vl = n - (size_t)(eq + 1 - p);
		char *e;
		if (vl == 0 || vl >= sizeof(num))
			goto bad;
		memcpy(num, eq + 1, vl);
		num[vl] = 0;
		errno = 0;
		long v = strtol(num, &e, 10);
		if (errno || *e || v < o->min || v > o->max)
			goto bad;
		*(long *)((char *)cfg + o->off) = v;
		p = end;
		continue;
	bad:
		seterr(err, errlen, "dir sink: %s=%.*s is not a number from %ld to %ld", o->key, (int)vl, eq + 1, o->min,
		         o->max);
		return ERR_ARG;
	}
	return ERR_OK;
}

/* mkdir -p of rel (below dir); each new directory's parent is fsynced so
 * the name survives a crash. Touches no sink state (runs on the worker). */
static int mkdirs(const char *dir, const char *rel, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		seterr(err, errlen, "%s/%s: path too long", dir, rel);
		return ERR_NOSPACE;
	}
	for (char *p = path + strlen(dir) + 1;; p++) {
		if (*p != '/' && *p != 0)
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(path, 0755) == 0) {
			char *slash = strrchr(path, '/');
			*slash = 0;
			int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0) {
				fsync(fd);
				close(fd);
			}
			*slash = '/';
		} else if (errno != EEXIST) {
			seterr(err, errlen, "mkdir %s: %s", path, strerror(errno));
			return ERR_IO;
		}
		*p = c;
		if (!c)
			break;
	}
	return ERR_OK;
}

/* Move a finished file from tmp to its final name (no-replace: a second
 * file of the same exporter and interval gets .1, .2, ...; *suffixed says
 * so), then fsync the day directory. ERR_OK once the rename is done (a
 * failed directory fsync is told in warn, but the file is in place); else
 * tmp is left and err says why. Touches no sink state (runs on the worker). */
static int publish(const char *dir, const char *tmp, const struct store_hdr *h, int *suffixed, char *err,
                   size_t errlen, char *warn, size_t warnlen)
{
	char day[16], stem[96], path[PATH_MAX];
	*suffixed = 0;
	warn[0] = 0;
	if (store_day_dir(h->start_s, day, sizeof(day)) != ERR_OK || store_file_stem(h, stem, sizeof(stem)) != ERR_OK) {
		seterr(err, errlen, "%s: cannot name the file", tmp);
		return ERR_RANGE;
	}
	int rc = mkdirs(dir, day, err, errlen);
	if (rc != ERR_OK)
		return rc;
	for (unsigned k = 0; k < 1000; k++) {
		int n = k ? snprintf(path, sizeof(path), "%s/%s/%s.%u.ipfs", dir, day, stem, k)
		          : snprintf(path, sizeof(path), "%s/%s/%s.ipfs", dir, day, stem);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			seterr(err, errlen, "%s: path too long", stem);
			return ERR_NOSPACE;
		}
		int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
		if (r != 0 && errno == EINVAL) {
			/* A file system without RENAME_NOREPLACE: link() does not replace either. */
			r = link(tmp, path);
			if (r == 0)
				unlink(tmp);
		}
		if (r == 0) {
			*suffixed = k != 0;
			char *slash = strrchr(path, '/');
			*slash = 0;
			int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0 || fsync(fd) != 0)
				seterr(warn, warnlen, "fsync %s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return ERR_OK;
		}
		if (errno != EEXIST) {
			seterr(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
			return ERR_IO;
		}
	}
	seterr(err, errlen, "%s/%s/%s: 1000 files of one exporter and interval", dir, day, stem);
	return ERR_FULL;
}

/* Finishing a file — header, fsync, close, rename, directory fsync — is a
 * job for the worker thread, so that write() and tick() never wait for the
 * disk. The main thread seals the writer first (its last block written:
 * the codec is the main thread's), and applies each job's outcome to the
 * counters in tick() (or close()). Until then its records are "in open
 * files" (show). Without a worker (pthread_create failed) jobs run inline. */
struct fjob {
	struct fjob *next;
	struct store_writer *w;
	struct store_hdr h;
	char tmp[PATH_MAX];
	/* outcome */
	int rc, published, suffixed;
	struct store_wres res;
	char err[512], warn[512];
};

static void run_job(const char *dir, struct fjob *j)
{
	j->rc = store_writer_finish(j->w, &j->res, j->err, sizeof(j->err));
	j->w = NULL;
	j->published = 0;
	if (j->rc != ERR_OK || j->res.records == 0) {
		unlink(j->tmp);
		return;
	}
	if (publish(dir, j->tmp, &j->h, &j->suffixed, j->err, sizeof(j->err), j->warn, sizeof(j->warn)) != ERR_OK) {
		unlink(j->tmp);
		return;
	}
	j->published = 1;
}

/* Count one finished job: every record its file took is now written or
 * dropped. Main thread. */
static void apply_job(struct dir_sink *d, struct fjob *j)
{
	d->base.st.dropped += j->res.lost;
	if (j->rc != ERR_OK) {
		dir_error(d, "%s", j->err);
	} else if (j->res.records && !j->published) {
		dir_error(d, "%s", j->err);
		d->base.st.dropped += j->res.records;
	} else if (j->published) {
		d->base.st.written += j->res.records;
		d->files++;
		d->blocks += j->res.blocks;
		d->bytes += j->res.bytes;
		d->publish_suffix += (uint64_t)j->suffixed;
		if (j->warn[0])
			dir_error(d, "%s", j->warn);
	}
	d->inflight--;
}

static void *worker_main(void *arg)
{
	struct dir_sink *d = arg;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->todo && !d->stop)
			pthread_cond_wait(&d->cv, &d->mu);
		struct fjob *j = d->todo;
		if (!j)
			break; /* stop, and nothing left to do */
		d->todo = j->next;
		if (!d->todo)
			d->todo_tail = &d->todo;
		pthread_mutex_unlock(&d->mu);
		run_job(d->dir, j);
		pthread_mutex_lock(&d->mu);
		j->next = d->done;
		d->done = j;
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* Apply the outcomes of the jobs the worker has finished. Main thread. */
static void drain(struct dir_sink *d)
{
	if (!d->worker_on)
		return;
	pthread_mutex_lock(&d->mu);
	struct fjob *j = d->done;
	d->done = NULL;
	pthread_mutex_unlock(&d->mu);
	while (j) {
		struct fjob *next = j->next;
		apply_job(d, j);
		free(j);
		j = next;
	}
}

/* The .tmp path of the slot's file. */
static void tmp_path(const struct dir_sink *d, const struct dslot *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s/.tmp-%ld-%llu.ipfs", d->dir, (long)getpid(), (unsigned long long)s->tmp_seq);
}

/* Finish the slot's file: seal it here, hand the rest to the worker. */
static void finish_slot(struct dir_sink *d, struct dslot *s)
{
	char err[512];
	if (!s->w)
		return;
	if (store_writer_seal(s->w, err, sizeof(err)) != ERR_OK)
		dir_error(d, "%s; the last block's records are dropped", err);
	struct fjob *j = d->worker_on ? calloc(1, sizeof(*j)) : NULL, local;
	int inline_job = !j; /* no worker, or no memory for the job: do it here */
	if (inline_job) {
		memset(&local, 0, sizeof(local));
		j = &local;
	}
	j->w = s->w;
	j->h = s->h;
	tmp_path(d, s, j->tmp, sizeof(j->tmp));
	s->w = NULL;
	d->inflight++;
	if (inline_job) {
		run_job(d->dir, j);
		apply_job(d, j);
		return;
	}
	pthread_mutex_lock(&d->mu);
	*d->todo_tail = j;
	d->todo_tail = &j->next;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void drop_slot(struct dir_sink *d, size_t i)
{
	d->slot[i] = d->slot[--d->nslot];
	d->last = 0;
}

/* The slot of exporter (af, addr), made if need be (evicting the least
 * recently used when max_open are in use). */
/* Same exporter address (constant lengths: the compare is inlined). */
static inline int same_addr(const uint8_t *a, const uint8_t *b, uint8_t af)
{
	return af == 6 ? memcmp(a, b, 16) == 0 : memcmp(a, b, 4) == 0;
}

static struct dslot *find_slot(struct dir_sink *d, uint8_t af, const uint8_t *addr)
{
	size_t alen = af == 6 ? 16 : 4;
	if (d->last < d->nslot && d->slot[d->last].af == af && same_addr(d->slot[d->last].addr, addr, af))
		return &d->slot[d->last];
	for (size_t i = 0; i < d->nslot; i++) {
		if (d->slot[i].af == af && same_addr(d->slot[i].addr, addr, af)) {
			d->last = i;
			return &d->slot[i];
		}
	}
	if (d->nslot == (size_t)d->cfg.max_open) {
		size_t lru = 0;
		for (size_t i = 1; i < d->nslot; i++)
			if (d->slot[i].use < d->slot[lru].use)
				lru = i;
		if (d->slot[lru].w)
			d->evicted++;
		finish_slot(d, &d->slot[lru]);
		drop_slot(d, lru);
	}
	struct dslot *s = &d->slot[d->nslot];
	memset(s, 0, sizeof(*s));
	s->af = af;
	memcpy(s->addr, addr, alen);
	d->last = d->nslot++;
	return s;
}

static int open_file(struct dir_sink *d, struct dslot *s, uint64_t start_s)
{
	char err[512];
	s->start_s = start_s;
	s->from_us = start_s * 1000000u;
	s->to_us = (start_s + (uint64_t)d->cfg.interval) * 1000000u;
	s->failed = 0;
	memset(&s->h, 0, sizeof(s->h));
	s->h.interval_s = (uint32_t)d->cfg.interval;
	s->h.start_s = start_s;
	s->h.exporter_af = s->af;
	memcpy(s->h.exporter, s->addr, 16);
	char tmp[PATH_MAX];
	s->tmp_seq = ++d->seq;
	tmp_path(d, s, tmp, sizeof(tmp)); /* fits: dir is PATH_MAX - 64 at most */
	s->w = store_writer_create(tmp, &s->h, d->codec, err, sizeof(err));
	if (!s->w) {
		dir_error(d, "%s; this exporter's records are dropped until the next interval", err);
		s->failed = 1;
		return ERR_IO;
	}
	return ERR_OK;
}

static int dir_write(struct sink *sk, const struct crec *r)
{
	struct dir_sink *d = (struct dir_sink *)sk;
	char err[512];
	d->base.st.records++;
	uint64_t t = r->recv_us ? r->recv_us : d->now_us ? d->now_us : wall_us();
	uint8_t af = r->exporter_af == 6 ? 6 : 4;
	struct dslot *s = find_slot(d, af, r->exporter);
	/* Most records fall in their file's interval: no division then. */
	uint64_t start = s->start_s;
	if (!s->w || t < s->from_us || t >= s->to_us) {
		start = t / 1000000u;
		start -= start % (uint64_t)d->cfg.interval;
	}
	s->use = ++d->use;
	if ((s->w || s->failed) && start > s->start_s) {
		finish_slot(d, s); /* rotation: a record of the next interval */
		s->failed = 0;
	}
	if (s->failed) {
		d->base.st.dropped++;
		return ERR_IO;
	}
	if (!s->w && open_file(d, s, start) != ERR_OK) {
		d->base.st.dropped++;
		return ERR_IO;
	}
	if (store_writer_pending(s->w) == 0)
		s->pending_since_us = d->now_us ? d->now_us : t;
	if (store_writer_add(s->w, r, err, sizeof(err)) != ERR_OK) {
		dir_error(d, "%s; this exporter's records are dropped until the next interval", err);
		finish_slot(d, s); /* publishes the whole blocks; the lost ones count as dropped */
		s->failed = 1;
		return ERR_IO;
	}
	return ERR_OK;
}

static void dir_tick(struct sink *sk, uint64_t now_us)
{
	struct dir_sink *d = (struct dir_sink *)sk;
	char err[512];
	drain(d);
	d->now_us = now_us;
	uint64_t now_s = now_us / 1000000u;
	for (size_t i = 0; i < d->nslot;) {
		struct dslot *s = &d->slot[i];
		int over = now_s >= s->start_s + (uint64_t)d->cfg.interval;
		if (s->w && over) {
			finish_slot(d, s);
		} else if (s->w && d->cfg.flush && store_writer_pending(s->w) &&
		           now_us >= s->pending_since_us + (uint64_t)d->cfg.flush * 1000000u) {
			if (store_writer_flush(s->w, err, sizeof(err)) != ERR_OK) {
				dir_error(d, "%s; this exporter's records are dropped until the next interval", err);
				finish_slot(d, s);
				s->failed = 1;
			}
		}
		if (!s->w && (over || !s->failed)) {
			drop_slot(d, i);
			continue;
		}
		i++;
	}
}

/* Publish or remove the .tmp files a dead writer left in the directory. */
static void recover(struct dir_sink *d)
{
	DIR *dd = opendir(d->dir);
	struct dirent *de;
	if (!dd)
		return;
	while ((de = readdir(dd)) != NULL) {
		char path[PATH_MAX], err[512];
		if (strncmp(de->d_name, ".tmp-", 5) != 0)
			continue;
		int n = snprintf(path, sizeof(path), "%s/%s", d->dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			dir_error(d, "%s: %s", path, strerror(errno));
			continue;
		}
		struct store_hdr h;
		uint64_t cut = 0;
		int rc = store_recover_fd(fd, &h, &cut, err, sizeof(err));
		close(fd);
		if (rc == ERR_FORMAT || (rc == ERR_OK && h.records == 0)) {
			log_warn("file store: %s left by an earlier run holds no whole block (%s); removed", path,
			         rc == ERR_OK ? "no records" : err);
			unlink(path);
			d->tmp_removed++;
			continue;
		}
		if (rc != ERR_OK) {
			dir_error(d, "recovering %s: %s", path, err);
			continue;
		}
		char warn[512];
		int suffixed;
		rc = publish(d->dir, path, &h, &suffixed, err, sizeof(err), warn, sizeof(warn));
		if (rc != ERR_OK) {
			dir_error(d, "recovering %s: %s", path, err);
			continue;
		}
		if (warn[0])
			dir_error(d, "%s", warn);
		d->publish_suffix += (uint64_t)suffixed;
		d->recovered++;
		d->recovered_recs += h.records;
		log_warn("file store: recovered %s left by an earlier run: %llu records in %u blocks kept, %llu bytes "
		         "of a partial block cut off",
		         path, (unsigned long long)h.records, h.blocks, (unsigned long long)cut);
	}
	closedir(dd);
}

/* Publish every open file and wait for the worker to have renamed them
 * all, so written/dropped are final. Idempotent: close calls it again. */
static void dir_finish(struct sink *sk)
{
	struct dir_sink *d = (struct dir_sink *)sk;
	for (size_t i = 0; i < d->nslot; i++)
		finish_slot(d, &d->slot[i]);
	if (d->worker_on) {
		pthread_mutex_lock(&d->mu);
		d->stop = 1;
		pthread_cond_signal(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->worker, NULL);
		drain(d);
		d->worker_on = 0;
	}
}

static void dir_close(struct sink *sk)
{
	struct dir_sink *d = (struct dir_sink *)sk;
	dir_finish(sk);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	if (d->lockfd >= 0)
		close(d->lockfd); /* releases the flock */
	store_codec_free(d->codec);
	free(d->slot);
	free(d);
}

static struct sink *dir_open(const char *rest, char *err, size_t errlen)
{
	struct dir_sink *d = calloc(1, sizeof(*d));
	if (!d) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	d->base.ops = &sink_dir_ops;
	d->lockfd = -1;
	d->todo_tail = &d->todo;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if (parse_spec(rest, &d->cfg, d->dir, sizeof(d->dir), err, errlen) != ERR_OK)
		goto fail;
	if (mkdir(d->dir, 0755) != 0 && errno != EEXIST) {
		seterr(err, errlen, "%s: %s", d->dir, strerror(errno));
		goto fail;
	}
	char lock[PATH_MAX];
	snprintf(lock, sizeof(lock), "%s/.lock", d->dir);
	d->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d->lockfd < 0) {
		seterr(err, errlen, "%s: %s", lock, strerror(errno));
		goto fail;
	}
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) != 0) {
		seterr(err, errlen, "%s: %s", d->dir,
		         errno == EWOULDBLOCK ? "in use by another ipflow-collect (locked)" : strerror(errno));
		goto fail;
	}
	uint32_t recs = (uint32_t)((uint64_t)d->cfg.block * 1024 / STORE_REC_LEN);
	d->codec = store_codec_new(d->cfg.codec, (int)(d->cfg.codec == STORE_CODEC_ZSTD ? d->cfg.level : d->cfg.accel),
	                           recs ? recs : 1);
	d->slot = calloc((size_t)d->cfg.max_open, sizeof(*d->slot));
	if (!d->codec || !d->slot) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	recover(d);
	/* Without the worker, files are finished inline: slower, still right. */
	int prc = pthread_create(&d->worker, NULL, worker_main, d);
	d->worker_on = prc == 0;
	if (!d->worker_on)
		log_warn("file store: no worker thread (%s); files are finished inline", strerror(prc));
	return &d->base;
fail:
	dir_close(&d->base);
	return NULL;
}

static void dir_show(const struct sink *sk, FILE *out)
{
	const struct dir_sink *d = (const struct dir_sink *)sk;
	const struct sink_stats *st = &d->base.st;
	uint64_t open_recs = st->records - st->written - st->dropped;
	size_t nopen = 0;
	for (size_t i = 0; i < d->nslot; i++)
		nopen += d->slot[i].w != NULL;
	nopen += d->inflight; /* being finished by the worker */
	fprintf(out, "File store %s: one file per exporter every %ld s, blocks of %ld KiB, ", d->dir, d->cfg.interval,
	        d->cfg.block);
	if (d->cfg.codec == STORE_CODEC_ZSTD)
		fprintf(out, "zstd level %ld\n", d->cfg.level);
	else
		fprintf(out, "%s acceleration %ld\n", store_codec_name(d->cfg.codec), d->cfg.accel);
	fprintf(out, "  %llu records taken, %llu written, %llu dropped, %llu in %zu open files\n",
	        (unsigned long long)st->records, (unsigned long long)st->written, (unsigned long long)st->dropped,
	        (unsigned long long)open_recs, nopen);
	fprintf(out, "  %llu files, %llu blocks, %llu bytes written (%.1f bytes per record)\n",
	        (unsigned long long)d->files, (unsigned long long)d->blocks, (unsigned long long)d->bytes,
	        st->written ? (double)d->bytes / (double)st->written : 0.0);
	fprintf(out, "  %llu write errors; %llu files finished early (more than max_open=%ld exporters)\n",
	        (unsigned long long)st->errors, (unsigned long long)d->evicted, d->cfg.max_open);
	fprintf(out, "  %llu files recovered (%llu records) and %llu removed, left by an earlier run\n",
	        (unsigned long long)d->recovered, (unsigned long long)d->recovered_recs,
	        (unsigned long long)d->tmp_removed);
	if (d->base.err[0])
		fprintf(out, "  last error: %s\n", d->base.err);
}

const struct sink_ops sink_dir_ops = {
	.scheme = "dir",
	.open = dir_open,
	.write = dir_write,
	.tick = dir_tick,
	.finish = dir_finish,
	.close = dir_close,
	.show = dir_show,
};
