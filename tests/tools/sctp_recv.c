/* sctp_recv — a test collector for SCTP export: listens with
 * sctp_listen.h (UDP encapsulation), decodes every message with the
 * project's decoders and a template store per association, and writes
 *
 *   -o LOG.jsonl   every flow record as a flow-log JSON line (IPFIX
 *                  names, as ipflowd -o writes them) with "_m", a digest
 *                  of its message, so logs of several collectors can be
 *                  merged and de-duplicated by message (dedup_logs.py);
 *   -m MSGS.tsv    one line per message: listener port, session, stream,
 *                  ssn, gap, sequence, length, records, templates,
 *                  withdrawals, options records, skipped sets, unix ms;
 *   -s STATS.json  the totals at exit (SIGTERM/SIGINT, or -t SEC).
 *
 * SIGUSR1 stops reading (a stalled collector), SIGUSR2 resumes.
 *
 * -T [ADDR:]PORT also takes IPFIX over TCP (RFC 7011 §10.4: messages
 * framed by their length field), each connection a session; at SIGTERM
 * it half-closes every connection and reads until the exporter closes
 * (a collector restarting in order: nothing it was sent is thrown away).
 *
 * Usage: sctp_recv -l [ADDR:]PORT [-l ...] [-T [ADDR:]PORT] [-o LOG] [-m MSGS]
 *                  [-s STATS] [-p PORTFILE] [-r RCVBUF] [-t SEC] */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "export/export.h"
#include "export/flowlog.h"
#include "lib/addr.h"
#include "lib/err.h"
#include "transport/sctp.h"
#include "transport/sctp_listen.h"

#define MAX_LISTEN 4
#define MAX_SESS 4096

struct sess {
	bool used;
	uint32_t id;
	struct tmpl_store_mem mem;
	bool seq_valid;
	uint32_t next_seq;
	uint64_t seq_lost;
	uint64_t msgs, recs;
};

struct lctx {
	struct sctprx *l;
	uint16_t port;
	struct sess *sess; /* MAX_SESS, indexed by session % MAX_SESS */
};

static struct {
	FILE *log, *msgs;
	uint64_t msgs_total, recs, tmpls, withdrawals, opt_recs, skipped, errors;
	uint64_t data_on_0, tmpl_on_data, opt_on_data, gaps, seq_lost, ups, downs, restarts;
	uint64_t first_not_tmpl, sid_mask;
	uint64_t dup_msgs;
	uint64_t tcp_msgs, tcp_conns, tcp_partial;
	uint64_t first_ms, last_ms; /* wall clock of the first and last data message */
	uint64_t *keys; /* open-addressing set of message digests */
	size_t nkeys, capkeys;
} G;

static volatile sig_atomic_t stop_flag, pause_req, resume_req;

static void on_sig(int s)
{
	if (s == SIGUSR1)
		pause_req = 1;
	else if (s == SIGUSR2)
		resume_req = 1;
	else
		stop_flag = 1;
}

static uint64_t fnv64(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h ? h : 1;
}

/* true if k was new */
static bool key_add(uint64_t k)
{
	if ((G.nkeys + 1) * 2 > G.capkeys) {
		size_t cap = G.capkeys ? G.capkeys * 2 : 1 << 16;
		uint64_t *v = calloc(cap, sizeof(*v));
		if (!v)
			abort();
		for (size_t i = 0; i < G.capkeys; i++)
			if (G.keys[i])
				for (size_t j = G.keys[i] % cap;; j = (j + 1) % cap)
					if (!v[j]) {
						v[j] = G.keys[i];
						break;
					}
		free(G.keys);
		G.keys = v;
		G.capkeys = cap;
	}
	for (size_t j = k % G.capkeys;; j = (j + 1) % G.capkeys) {
		if (G.keys[j] == k)
			return false;
		if (!G.keys[j]) {
			G.keys[j] = k;
			G.nkeys++;
			return true;
		}
	}
}

static uint64_t now_ms_real(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

static struct sess *sess_get(struct lctx *x, uint32_t id)
{
	struct sess *s = &x->sess[id % MAX_SESS];
	if (!s->used || s->id != id) {
		if (s->used)
			tmpl_store_mem_free(&s->mem);
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->id = id;
		tmpl_store_mem_init(&s->mem, 32);
	}
	return s;
}

static void on_msg(void *arg, const struct sctprx_msg *m)
{
	struct lctx *x = arg;
	bool tcp = m->sid == 0xffff; /* TCP: no streams */
	struct sess *s = sess_get(x, m->session);
	struct tmpl_store ts = tmpl_store_mem_iface(&s->mem);
	struct nf_iter it;
	struct nf_item item;
	/* digests only for logs and duplicate counts (a benchmark wants speed) */
	uint64_t key = G.log || G.msgs ? fnv64(m->data, m->len) : 0;
	if (key && !key_add(key))
		G.dup_msgs++;
	char line[4096];
	unsigned recs = 0, tm = 0, wd = 0, opt = 0, skip = 0, alld = 0;
	int rc = nf_iter_init(&it, m->data, m->len, &ts);
	while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK) {
		switch (item.kind) {
		case NF_ITEM_TMPL:
			tm++;
			break;
		case NF_ITEM_WITHDRAW:
			wd++;
			break;
		case NF_ITEM_SKIPPED_SET:
			skip++;
			break;
		case NF_ITEM_DATA:
			alld++;
			if (item.t && item.t->scope_count) {
				opt++;
				break;
			}
			if (!G.log) { /* counting only */
				recs++;
				break;
			}
			{
				struct flowrec r;
				if (nf_item_flowrec(&it, &item, &r) != ERR_OK) {
					G.errors++;
					break;
				}
				recs++;
				if (G.log) {
					size_t n = flowlog_format_json(&r, line, sizeof(line) - 40);
					if (n > 1) {
						n--; /* drop the closing brace */
						n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"_m\":\"%016llx\"}\n",
						                      (unsigned long long)key);
						fwrite(line, 1, n, G.log);
					}
				}
			}
			break;
		default:
			break;
		}
	}
	if (rc != ERR_END)
		G.errors++;
	if (rc == ERR_END) {
		uint32_t seq = it.hdr.seq;
		if (s->seq_valid && seq != s->next_seq && (int32_t)(seq - s->next_seq) > 0) {
			s->seq_lost += seq - s->next_seq;
			G.seq_lost += seq - s->next_seq;
		}
		if (!s->seq_valid || (int32_t)(seq - s->next_seq) >= 0) {
			s->next_seq = it.hdr.version == 10 ? seq + alld : seq + 1;
			s->seq_valid = true;
		}
	}
	if (s->msgs == 0 && !tm)
		G.first_not_tmpl++;
	s->msgs++;
	s->recs += recs;
	G.msgs_total++;
	G.recs += recs;
	G.tmpls += tm;
	G.withdrawals += wd;
	G.opt_recs += opt;
	G.skipped += skip;
	G.gaps += m->gap;
	if (recs) {
		uint64_t t = now_ms_real();
		if (!G.first_ms)
			G.first_ms = t;
		G.last_ms = t;
	}
	if (tcp)
		G.tcp_msgs++;
	else {
		G.sid_mask |= 1ull << (m->sid & 63);
		if (m->sid == 0)
			G.data_on_0 += recs;
		else {
			G.tmpl_on_data += tm;
			G.opt_on_data += opt;
		}
	}
	if (G.msgs)
		fprintf(G.msgs, "%u\t%u\t%u\t%u\t%u\t%u\t%zu\t%u\t%u\t%u\t%u\t%u\t%llu\n", x->port, m->session, m->sid,
		        m->ssn, m->gap, rc == ERR_END ? it.hdr.seq : 0, m->len, recs, tm, wd, opt, skip,
		        (unsigned long long)now_ms_real());
}

static void on_event(void *arg, int ev, uint32_t session, uint32_t old, const struct sockaddr *p, socklen_t l)
{
	struct lctx *x = arg;
	if (ev == SCTPRX_UP)
		G.ups++;
	else if (ev == SCTPRX_DOWN)
		G.downs++;
	else if (ev == SCTPRX_RESTART)
		G.restarts++;
	if (G.msgs)
		fprintf(G.msgs, "%u\t%u\t#%s\t%u\t\t\t\t\t\t\t\t\t%llu\n", x->port, session,
		        ev == SCTPRX_UP ? "up" : ev == SCTPRX_DOWN ? "down" : "restart", old,
		        (unsigned long long)now_ms_real());
}

static void write_stats(const char *path, struct lctx *ls, int nl)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	if (!f)
		return;
	uint64_t too_long = 0, assocs = 0, rgaps = 0;
	for (int i = 0; i < nl; i++) {
		const struct sctprx_stats *st = sctprx_stats(ls[i].l);
		too_long += st->too_long;
		assocs += st->assocs_total;
		rgaps += st->gaps;
	}
	fprintf(f, "{\"messages\":%llu,\"records\":%llu,\"templates\":%llu,\"withdrawals\":%llu,\"optionRecords\":%llu,"
	           "\"skippedSets\":%llu,\"decodeErrors\":%llu,\"dataOnStream0\":%llu,\"templatesOnDataStreams\":%llu,"
	           "\"optionsOnDataStreams\":%llu,\"streamGaps\":%llu,\"seqLost\":%llu,\"associations\":%llu,\"ups\":%llu,"
	           "\"downs\":%llu,\"restarts\":%llu,\"firstNotTemplate\":%llu,\"streamMask\":%llu,"
	           "\"duplicateMessages\":%llu,\"tooLong\":%llu,\"tcpMessages\":%llu,\"tcpConnections\":%llu,"
	           "\"tcpPartialAtClose\":%llu,\"firstDataMs\":%llu,\"lastDataMs\":%llu}\n",
	        (unsigned long long)G.msgs_total, (unsigned long long)G.recs, (unsigned long long)G.tmpls,
	        (unsigned long long)G.withdrawals, (unsigned long long)G.opt_recs, (unsigned long long)G.skipped,
	        (unsigned long long)G.errors, (unsigned long long)G.data_on_0, (unsigned long long)G.tmpl_on_data,
	        (unsigned long long)G.opt_on_data, (unsigned long long)rgaps, (unsigned long long)G.seq_lost,
	        (unsigned long long)assocs, (unsigned long long)G.ups, (unsigned long long)G.downs,
	        (unsigned long long)G.restarts, (unsigned long long)G.first_not_tmpl,
	        (unsigned long long)G.sid_mask, (unsigned long long)G.dup_msgs, (unsigned long long)too_long,
	        (unsigned long long)G.tcp_msgs, (unsigned long long)G.tcp_conns, (unsigned long long)G.tcp_partial,
	        (unsigned long long)G.first_ms, (unsigned long long)G.last_ms);
	if (f != stdout)
		fclose(f);
}

/* ---- IPFIX over TCP ---- */

#define MAX_TCP 16

struct tconn {
	int fd;
	uint32_t session;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint8_t *buf;
	size_t len;
};

static struct {
	int lfd;
	uint16_t port;
	struct tconn c[MAX_TCP];
	int n;
	uint32_t next_session;
	struct lctx x;
} TC = { .lfd = -1, .next_session = 1000000 };

static int tcp_listen(const char *spec, char *err, size_t errlen)
{
	char host[128] = "127.0.0.1";
	const char *port = spec;
	if (strchr(spec, ':') && addr_split_hostport(spec, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "-T %s: expected [ADDR:]PORT", spec);
		return -1;
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		snprintf(err, errlen, "-T %s: IPv4 address expected", spec);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0) {
		snprintf(err, errlen, "-T %s: %s", spec, strerror(errno));
		return -1;
	}
	socklen_t sl = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &sl);
	TC.lfd = fd;
	TC.port = ntohs(a.sin_port);
	TC.x.port = TC.port;
	TC.x.sess = calloc(MAX_SESS, sizeof(struct sess));
	return TC.x.sess ? 0 : -1;
}

static void tcp_event(struct tconn *c, int ev)
{
	on_event(&TC.x, ev, c->session, 0, (struct sockaddr *)&c->peer, c->peerlen);
}

static void tcp_close(int i)
{
	struct tconn *c = &TC.c[i];
	if (c->len)
		G.tcp_partial++; /* a message cut by the end of the connection */
	tcp_event(c, SCTPRX_DOWN);
	close(c->fd);
	free(c->buf);
	TC.c[i] = TC.c[--TC.n];
}

/* Read what is there; frame IPFIX messages by their length field. false
 * when the connection ended (closed). */
static bool tcp_read(int i)
{
	struct tconn *c = &TC.c[i];
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, 131072 - c->len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			tcp_close(i);
			return false;
		}
		if (n < 0)
			return true;
		c->len += (size_t)n;
		size_t off = 0;
		while (c->len - off >= 4) {
			size_t ml = (size_t)c->buf[off + 2] << 8 | c->buf[off + 3];
			if (ml < 16) { /* not IPFIX framing: give up on this connection */
				G.errors++;
				c->len = 0;
				tcp_close(i);
				return false;
			}
			if (c->len - off < ml)
				break;
			struct sctprx_msg m = { .peer = (struct sockaddr *)&c->peer, .peerlen = c->peerlen,
			                        .session = c->session, .sid = 0xffff, .data = c->buf + off, .len = ml };
			on_msg(&TC.x, &m);
			off += ml;
		}
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
}

static void tcp_accept(void)
{
	for (;;) {
		struct tconn c = { .peerlen = sizeof(c.peer) };
		c.fd = accept4(TC.lfd, (struct sockaddr *)&c.peer, &c.peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c.fd < 0)
			return;
		if (TC.n == MAX_TCP || !(c.buf = malloc(131072))) {
			close(c.fd);
			continue;
		}
		c.session = ++TC.next_session;
		TC.c[TC.n++] = c;
		G.tcp_conns++;
		tcp_event(&c, SCTPRX_UP);
	}
}

/* Orderly end: half-close each connection, read until the exporter
 * closes its side (at most ms). */
static void tcp_drain_close(int ms)
{
	if (TC.lfd < 0)
		return;
	close(TC.lfd);
	for (int i = 0; i < TC.n; i++)
		shutdown(TC.c[i].fd, SHUT_WR);
	uint64_t until = now_ms_real() + (uint64_t)ms;
	while (TC.n && now_ms_real() < until) {
		struct pollfd p[MAX_TCP];
		for (int i = 0; i < TC.n; i++)
			p[i] = (struct pollfd){ .fd = TC.c[i].fd, .events = POLLIN };
		poll(p, (nfds_t)TC.n, 50);
		for (int i = TC.n; i-- > 0;)
			if (p[i].revents)
				(void)tcp_read(i);
	}
	while (TC.n)
		tcp_close(TC.n - 1);
}

int main(int argc, char **argv)
{
	const char *spec[MAX_LISTEN], *log = NULL, *msgs = NULL, *stats = NULL, *portfile = NULL, *tcpspec = NULL;
	int nl = 0, rcvbuf = 0, c, sackf = 0;
	double limit_s = 0;
	while ((c = getopt(argc, argv, "l:T:o:m:s:p:r:t:F:")) != -1) {
		switch (c) {
		case 'l':
			if (nl == MAX_LISTEN)
				return 2;
			spec[nl++] = optarg;
			break;
		case 'T': tcpspec = optarg; break;
		case 'o': log = optarg; break;
		case 'm': msgs = optarg; break;
		case 's': stats = optarg; break;
		case 'p': portfile = optarg; break;
		case 'r': rcvbuf = atoi(optarg); break;
		case 'F': sackf = atoi(optarg); break;
		case 't': limit_s = atof(optarg); break;
		default:
			fprintf(stderr, "usage: sctp_recv -l [ADDR:]PORT [-l ...] [-o LOG] [-m MSGS] [-s STATS] [-p PORTFILE] "
			                "[-r RCVBUF] [-t SEC]\n");
			return 2;
		}
	}
	if (!nl && !tcpspec) {
		fprintf(stderr, "sctp_recv: no -l or -T\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_sig };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	if (log && !(G.log = fopen(log, "w")))
		return 1;
	if (msgs && !(G.msgs = fopen(msgs, "w")))
		return 1;
	struct lctx ls[MAX_LISTEN];
	memset(ls, 0, sizeof(ls));
	FILE *pf = portfile ? fopen(portfile, "w") : NULL;
	for (int i = 0; i < nl; i++) {
		char err[256];
		struct sctprx_opts o = { .rcvbuf = rcvbuf, .sack_freq = (unsigned)sackf };
		struct sctprx_cb cb = { on_msg, on_event, &ls[i] };
		ls[i].sess = calloc(MAX_SESS, sizeof(struct sess));
		ls[i].l = sctprx_open(spec[i], &o, &cb, err, sizeof(err));
		if (!ls[i].l || !ls[i].sess) {
			fprintf(stderr, "sctp_recv: %s\n", err);
			return 1;
		}
		ls[i].port = sctprx_port(ls[i].l);
		if (pf)
			fprintf(pf, "%u\n", ls[i].port);
	}
	if (tcpspec) {
		char err[256];
		if (tcp_listen(tcpspec, err, sizeof(err)) != 0) {
			fprintf(stderr, "sctp_recv: %s\n", err);
			return 1;
		}
		if (pf)
			fprintf(pf, "%u\n", TC.port);
	}
	if (pf)
		fclose(pf);
	uint64_t t0 = now_ms_real();
	while (!stop_flag) {
		if (pause_req) {
			pause_req = 0;
			for (int i = 0; i < nl; i++)
				sctprx_pause(ls[i].l, true);
		}
		if (resume_req) {
			resume_req = 0;
			for (int i = 0; i < nl; i++)
				sctprx_pause(ls[i].l, false);
		}
		struct pollfd p[2 + MAX_TCP];
		int np = 0;
		p[np++] = (struct pollfd){ .fd = sctp_stack_fd(), .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = TC.lfd, .events = POLLIN };
		for (int i = 0; i < TC.n; i++)
			p[np++] = (struct pollfd){ .fd = TC.c[i].fd, .events = POLLIN };
		poll(p, (nfds_t)np, 50);
		sctp_stack_service();
		if (TC.lfd >= 0) {
			tcp_accept();
			for (int i = TC.n; i-- > 0;)
				(void)tcp_read(i);
		}
		if (G.log)
			fflush(G.log);
		if (G.msgs)
			fflush(G.msgs);
		if (limit_s > 0 && now_ms_real() - t0 > (uint64_t)(limit_s * 1000))
			break;
	}
	tcp_drain_close(3000);
	if (stats)
		write_stats(stats, ls, nl);
	for (int i = 0; i < nl; i++) {
		sctprx_close(ls[i].l);
		for (int k = 0; k < MAX_SESS; k++)
			if (ls[i].sess[k].used)
				tmpl_store_mem_free(&ls[i].sess[k].mem);
		free(ls[i].sess);
	}
	if (G.log)
		fclose(G.log);
	if (G.msgs)
		fclose(G.msgs);
	free(G.keys);
	return 0;
}
