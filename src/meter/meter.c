/* meter.c — see meter.h. */
#include "meter/meter.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SINKS 16
#define MAX_TICKS 16
#define MAX_CAPS 64
#define MAX_FDS 8
#define MAX_TAPS 4
#define TICK_US 100000u

struct meter {
	struct cache *cache;
	struct {
		meter_sink_fn fn;
		void *arg;
	} sink[MAX_SINKS];
	size_t nsink;
	struct {
		meter_tick_fn fn;
		void *arg;
	} tick[MAX_TICKS];
	size_t ntick;
	struct capture *cap[MAX_CAPS];
	bool cap_main[MAX_CAPS];  /* the main cache meters cap[i] */
	size_t ncap;
	bool cur_main;            /* the capture being read is main-metered */
	struct sampler cap_samp[MAX_CAPS]; /* main-cache sampler of cap[i]; n 1 = every packet */
	uint32_t cap_samp_id[MAX_CAPS];
	size_t cur;               /* index of the capture being read */
	uint64_t samp_offered, samp_sampled; /* main-cache sampling, every capture */
	struct meter_tap tap[MAX_TAPS];
	size_t ntap;
	struct {
		meter_frame_fn fn;
		void *arg;
	} ftap[MAX_TAPS];
	size_t nftap;
	struct {
		int fd;
		void (*fn)(void *arg);
		void *arg;
	} fds[MAX_FDS];
	size_t nfds;
	double speed;
	uint64_t last_tick;
	struct pkt_stats ps;
	struct cache_pkt batch[CACHE_BATCH_MAX]; /* decoded, not yet metered */
	struct cache_pkt sbatch[CACHE_BATCH_MAX]; /* the sampled ones of a sampled capture's batch */
	size_t nbatch;
};

static uint64_t wall_us(void);

static void fan_out(void *arg, const struct flowrec *r)
{
	struct meter *m = arg;
	for (size_t i = 0; i < m->nsink; i++)
		m->sink[i].fn(m->sink[i].arg, r);
}

struct meter *meter_new(const struct cache_cfg *cc, char *err, size_t errlen)
{
	struct meter *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->cache = cache_new(cc, fan_out, m);
	if (!m->cache) {
		snprintf(err, errlen, "cannot create a flow cache of %u entries: %s", cc->entries,
		         strerror(errno));
		free(m);
		return NULL;
	}
	return m;
}

void meter_free(struct meter *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ncap; i++)
		capture_close(m->cap[i]);
	cache_free(m->cache);
	free(m);
}

int meter_add_sink(struct meter *m, meter_sink_fn fn, void *arg)
{
	if (m->nsink == MAX_SINKS)
		return -1;
	m->sink[m->nsink].fn = fn;
	m->sink[m->nsink++].arg = arg;
	return 0;
}

int meter_add_tick(struct meter *m, meter_tick_fn fn, void *arg)
{
	if (m->ntick == MAX_TICKS)
		return -1;
	m->tick[m->ntick].fn = fn;
	m->tick[m->ntick++].arg = arg;
	return 0;
}

int meter_add_fd(struct meter *m, int fd, void (*fn)(void *arg), void *arg)
{
	if (m->nfds == MAX_FDS)
		return -1;
	m->fds[m->nfds].fd = fd;
	m->fds[m->nfds].fn = fn;
	m->fds[m->nfds++].arg = arg;
	return 0;
}

/* Serve the extra fds without waiting (between batches of a replay). */
static void poll_fds_now(struct meter *m)
{
	struct pollfd pfd[MAX_FDS];
	for (size_t i = 0; i < m->nfds; i++)
		pfd[i] = (struct pollfd){ .fd = m->fds[i].fd, .events = POLLIN };
	if (m->nfds && poll(pfd, m->nfds, 0) > 0)
		for (size_t i = 0; i < m->nfds; i++)
			if (pfd[i].revents)
				m->fds[i].fn(m->fds[i].arg);
}

int meter_add_capture(struct meter *m, struct capture *src)
{
	if (m->ncap == MAX_CAPS)
		return -1;
	m->cap_main[m->ncap] = true;
	sampler_init(&m->cap_samp[m->ncap], SAMPLER_DETERMINISTIC, 1, 0);
	m->cap_samp_id[m->ncap] = 0;
	m->cap[m->ncap++] = src;
	return 0;
}

struct capture *meter_remove_capture(struct meter *m, size_t i)
{
	if (i >= m->ncap)
		return NULL;
	struct capture *c = m->cap[i];
	memmove(&m->cap[i], &m->cap[i + 1], (m->ncap - i - 1) * sizeof(m->cap[0]));
	memmove(&m->cap_main[i], &m->cap_main[i + 1], (m->ncap - i - 1) * sizeof(m->cap_main[0]));
	memmove(&m->cap_samp[i], &m->cap_samp[i + 1], (m->ncap - i - 1) * sizeof(m->cap_samp[0]));
	memmove(&m->cap_samp_id[i], &m->cap_samp_id[i + 1], (m->ncap - i - 1) * sizeof(m->cap_samp_id[0]));
	m->ncap--;
	return c;
}

void meter_set_main(struct meter *m, const struct capture *src, bool on)
{
	for (size_t i = 0; i < m->ncap; i++)
		if (m->cap[i] == src)
			m->cap_main[i] = on;
}

bool meter_main(const struct meter *m, const struct capture *src)
{
	for (size_t i = 0; i < m->ncap; i++)
		if (m->cap[i] == src)
			return m->cap_main[i];
	return false;
}

void meter_set_sampling(struct meter *m, const struct capture *src, enum sampler_mode mode, uint32_t n,
                        uint32_t id, uint64_t seed)
{
	if (n < 1)
		n = 1;
	for (size_t i = 0; i < m->ncap; i++) {
		if (m->cap[i] != src)
			continue;
		struct sampler *s = &m->cap_samp[i];
		m->cap_samp_id[i] = n > 1 ? id : 0;
		if (s->n == n && s->mode == (uint8_t)mode)
			continue; /* unchanged by a reload: the window carries on */
		if (!seed) /* a different sequence per capture and run */
			seed = sampler_run_seed(((uint64_t)i << 32) ^ (uint64_t)(uintptr_t)m);
		sampler_init(s, mode, n, seed);
	}
}

void meter_sampling(const struct meter *m, struct meter_sampling *out)
{
	*out = (struct meter_sampling){ .offered = m->samp_offered, .sampled = m->samp_sampled, .rate = 1 };
	for (size_t i = 0; i < m->ncap; i++)
		if (m->cap_main[i] && m->cap_samp[i].n > 1) {
			out->rate = m->cap_samp[i].n;
			out->mode = m->cap_samp[i].mode;
			out->id = m->cap_samp_id[i];
			break;
		}
}

void meter_sampling_clear(struct meter *m)
{
	m->samp_offered = m->samp_sampled = 0;
}

int meter_add_tap(struct meter *m, const struct meter_tap *t)
{
	if (m->ntap == MAX_TAPS)
		return -1;
	m->tap[m->ntap++] = *t;
	return 0;
}

int meter_add_frame_tap(struct meter *m, meter_frame_fn fn, void *arg)
{
	if (m->nftap == MAX_TAPS)
		return -1;
	m->ftap[m->nftap].fn = fn;
	m->ftap[m->nftap++].arg = arg;
	return 0;
}

/* The frame taps, out of line: on_frame pays one test without them. */
static __attribute__((noinline)) void frame_taps(struct meter *m, const struct cap_pkt *p, const struct pkt_info *pi)
{
	for (size_t i = 0; i < m->nftap; i++)
		m->ftap[i].fn(m->ftap[i].arg, p, pi);
}

/* Before reading capture c: whether its packets go to the main cache. */
static void set_current(struct meter *m, const struct capture *c)
{
	m->cur_main = false;
	for (size_t i = 0; i < m->ncap; i++)
		if (m->cap[i] == c) {
			m->cur_main = m->cap_main[i];
			m->cur = i;
		}
}

void meter_set_speed(struct meter *m, double speed)
{
	m->speed = speed;
}

struct cache *meter_cache(struct meter *m)
{
	return m->cache;
}

const struct pkt_stats *meter_pkt_stats(const struct meter *m)
{
	return &m->ps;
}

size_t meter_ncaptures(const struct meter *m)
{
	return m->ncap;
}

struct capture *meter_capture(struct meter *m, size_t i)
{
	return i < m->ncap ? m->cap[i] : NULL;
}

const char *meter_ifname(void *arg, uint32_t ifindex)
{
	struct meter *m = arg;
	for (size_t i = 0; i < m->ncap; i++) {
		if (capture_ifindex(m->cap[i]) != ifindex)
			continue;
		const char *n = capture_name(m->cap[i]);
		const char *slash = strrchr(n, '/'); /* a file: its base name */
		return capture_fd(m->cap[i]) < 0 && slash ? slash + 1 : n;
	}
	return NULL;
}

static void run_ticks(struct meter *m, uint64_t now, bool force)
{
	if (!force && now < m->last_tick + TICK_US)
		return;
	m->last_tick = now;
	for (size_t i = 0; i < m->ntick; i++)
		m->tick[i].fn(m->tick[i].arg, now);
}

/* Meter the decoded packets waiting in the batch, then run the timers. */
static void batch_flush(struct meter *m)
{
	if (m->nbatch) {
		struct sampler *s = m->cur < m->ncap ? &m->cap_samp[m->cur] : NULL;
		if (m->cur_main && s && s->n > 1) {
			/* main-cache sampling: the sampled packets only; the clock
			 * moves with the whole batch all the same */
			size_t k = 0;
			for (size_t i = 0; i < m->nbatch; i++)
				if (sampler_take(s))
					m->sbatch[k++] = m->batch[i];
			m->samp_offered += m->nbatch;
			m->samp_sampled += k;
			if (!k || m->sbatch[0].t_us != m->batch[0].t_us)
				cache_expire(m->cache, m->batch[0].t_us); /* the clock starts at the first packet */
			if (k)
				cache_packets(m->cache, m->sbatch, k);
			if (!k || m->sbatch[k - 1].t_us != m->batch[m->nbatch - 1].t_us)
				cache_expire(m->cache, m->batch[m->nbatch - 1].t_us);
		} else if (m->cur_main)
			cache_packets(m->cache, m->batch, m->nbatch);
		else /* the one clock moves on all the same */
			cache_expire(m->cache, m->batch[m->nbatch - 1].t_us);
		for (size_t i = 0; i < m->ntap; i++)
			m->tap[i].packets(m->tap[i].arg, m->batch, m->nbatch);
		m->nbatch = 0;
	}
	if (m->ntick)
		run_ticks(m, cache_stats(m->cache)->now_us, false);
}

/* Decode one frame into the batch (the frame's bytes are only valid
 * during this call; pkt_info copies what the cache needs). */
static void on_frame(void *arg, const struct cap_pkt *p)
{
	struct meter *m = arg;
	struct cache_pkt *cp = &m->batch[m->nbatch];
	m->ps.frames++;
	enum pkt_reason r = pkt_decode(p->data, p->caplen, p->wirelen, p->linktype, &cp->pi);
	if (m->nftap)
		frame_taps(m, p, r == PKT_OK ? &cp->pi : NULL);
	if (r != PKT_OK) {
		m->ps.reason[r]++;
		batch_flush(m);
		cache_expire(m->cache, p->ts_us);
		return;
	}
	cp->t_us = p->ts_us;
	cp->ifindex = p->ifindex;
	cp->dir = p->dir;
	if (++m->nbatch == CACHE_BATCH_MAX)
		batch_flush(m);
}

static uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000u), .tv_nsec = (long)(us % 1000000u) * 1000 };
	nanosleep(&ts, NULL);
}

/* A file as fast as possible on packet time. */
static int run_file_fast(struct meter *m, struct capture *c, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	for (;;) {
		if (stop && *stop)
			return 0;
		set_current(m, c); /* a reload between batches may change it */
		int r = capture_dispatch(c, 4096, on_frame, m, err, errlen);
		batch_flush(m);
		poll_fds_now(m);
		if (r == CAPTURE_EOF)
			return 0;
		if (r == CAPTURE_ERR)
			return -1;
	}
}

/* A file paced at m->speed times its own pace: the cache clock is the
 * packet time of the first frame plus the scaled wall time since, so
 * timers fire between packets as they would live. */
static int run_file_paced(struct meter *m, struct capture *c, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct cap_pkt p;
	uint64_t wall0 = 0, pkt0 = 0;
	for (;;) {
		if (stop && *stop)
			return 0;
		int r = capture_next(c, &p, err, errlen);
		if (r == CAPTURE_EOF)
			return 0;
		if (r == CAPTURE_ERR)
			return -1;
		if (r == 0)
			continue;
		if (!wall0) {
			wall0 = mono_us();
			pkt0 = p.ts_us;
		}
		uint64_t due = p.ts_us > pkt0 ? (uint64_t)((double)(p.ts_us - pkt0) / m->speed) : 0;
		for (;;) {
			uint64_t el = mono_us() - wall0;
			uint64_t clock = pkt0 + (uint64_t)((double)el * m->speed);
			if (el >= due)
				break;
			cache_expire(m->cache, clock);
			run_ticks(m, cache_stats(m->cache)->now_us, false);
			poll_fds_now(m);
			uint64_t left = due - el;
			sleep_us(left > 50000 ? 50000 : left);
			if (stop && *stop)
				return 0;
		}
		set_current(m, c);
		on_frame(m, &p);
		batch_flush(m);
	}
}

static int run_live(struct meter *m, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct pollfd pfd[MAX_CAPS + MAX_FDS];
	struct capture *polled[MAX_CAPS];
	while (!(stop && *stop)) {
		/* the poll set is rebuilt each round: a reload may add or remove
		 * captures from a control-socket or signal callback */
		size_t ncap = m->ncap, nfds = m->nfds;
		for (size_t i = 0; i < ncap; i++) {
			polled[i] = m->cap[i];
			pfd[i].fd = capture_fd(m->cap[i]);
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			if (pfd[i].fd < 0) {
				snprintf(err, errlen, "%s: not selectable", capture_name(m->cap[i]));
				return -1;
			}
		}
		for (size_t i = 0; i < nfds; i++)
			pfd[ncap + i] = (struct pollfd){ .fd = m->fds[i].fd, .events = POLLIN };
		int n = poll(pfd, ncap + nfds, 100);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		for (size_t i = 0; n > 0 && i < ncap; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLERR)))
				continue;
			set_current(m, polled[i]);
			int r = capture_dispatch(polled[i], 1024, on_frame, m, err, errlen);
			batch_flush(m);
			if (r == CAPTURE_ERR)
				return -1;
		}
		for (size_t i = 0; n > 0 && i < nfds; i++)
			if (pfd[ncap + i].revents)
				m->fds[i].fn(m->fds[i].arg); /* may change m->cap: the next round sees it */
		cache_expire(m->cache, wall_us());
		run_ticks(m, cache_stats(m->cache)->now_us, false);
	}
	return 0;
}

void meter_flush(struct meter *m)
{
	batch_flush(m);
	cache_flush(m->cache, FLOW_END_SHUTDOWN);
	for (size_t i = 0; i < m->ntap; i++)
		if (m->tap[i].flush)
			m->tap[i].flush(m->tap[i].arg, cache_stats(m->cache)->now_us);
	run_ticks(m, cache_stats(m->cache)->now_us, true);
}

int meter_run(struct meter *m, volatile sig_atomic_t *stop, bool keep_cache, char *err, size_t errlen)
{
	int rc = 0;
	bool live = false;
	for (size_t i = 0; i < m->ncap; i++)
		if (capture_fd(m->cap[i]) >= 0)
			live = true;
	if (live) {
		rc = run_live(m, stop, err, errlen);
	} else {
		for (size_t i = 0; i < m->ncap && rc == 0; i++)
			rc = m->speed > 0 ? run_file_paced(m, m->cap[i], stop, err, errlen)
			                  : run_file_fast(m, m->cap[i], stop, err, errlen);
	}
	if (!keep_cache)
		meter_flush(m);
	return rc;
}
