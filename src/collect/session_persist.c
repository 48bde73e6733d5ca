/* session_persist.c — the templates file: templates and sampler rates of
 * every session-0 stream, so a restarted collector decodes at once.
 *
 * Format (all integers big-endian):
 *
 *   header   8  magic "IPFLOWTP"
 *            2  format version (1)
 *            2  reserved (0)
 *            4  number of entries
 *            8  time written, us since 1970
 *   entries  1  kind: 'T' template, 'S' sampler rate
 *            1  exporter address family (4 or 6)
 *           16  exporter address (IPv4: first 4 bytes, rest 0)
 *            2  export version (9 or 10 for templates; 5, 9 or 10 for rates)
 *            4  observation domain (v9 source id, IPFIX domain, v5 engine)
 *      'T':  8  last seen, us since 1970
 *            2  template id (>= 256)
 *            2  field count (1..TMPL_MAX_FIELDS)
 *            2  scope field count
 *            1  flags (TMPL_F_V9)
 *            1  reserved (0)
 *            n  × (2 IE / v9 type, 2 length, 4 enterprise number)
 *      'S':  8  sampler id (0: the stream default)
 *            4  rate (1 in N, N >= 1)
 *      'I':  8  IPFIX systemInitTimeMilliseconds of the stream (> 0)
 *   trailer  8  XXH3-64 (seed 0) of everything before it
 *
 * Written whole to PATH.tmp, fsync'd and renamed over PATH. Read in two
 * passes: the first checks everything (checksum, every entry, every
 * template through tmpl_init) without side effects, the second adds; so a
 * damaged file is refused whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/session.h"
#include "lib/hash.h"

#define TP_MAGIC "IPFLOWTP"
#define TP_VERSION 1
#define TP_HDR 24
#define TP_ENTRY 24 /* kind, af, addr, version, domain */
#define TP_MAX_FILE (256u << 20)

struct sizer {
	size_t bytes;
	uint32_t n;
};

static void size_tmpl(void *arg, const struct cstream *s, uint8_t af, const uint8_t *addr, uint16_t version,
                      uint32_t domain, const struct tmpl *t, uint64_t seen)
{
	struct sizer *z = arg;
	z->bytes += TP_ENTRY + 16 + 8u * t->nfields;
	z->n++;
}

static void size_samp(void *arg, const struct cstream *s, uint8_t af, const uint8_t *addr, uint16_t version,
                      uint32_t domain, uint64_t id, uint32_t rate)
{
	struct sizer *z = arg;
	z->bytes += TP_ENTRY + (id == COLL_INIT_TIME ? 8 : 12);
	z->n++;
}

static void put_key(struct wbuf *w, char kind, uint8_t af, const uint8_t *addr, uint16_t version, uint32_t domain)
{
	uint8_t a[16] = { 0 };
	memcpy(a, addr, af == 6 ? 16 : 4);
	(void)(wbuf_put_u8(w, (uint8_t)kind) || wbuf_put_u8(w, af) || wbuf_put_bytes(w, a, 16) ||
	       wbuf_put_u16(w, version) || wbuf_put_u32(w, domain));
}

static void put_tmpl(void *arg, const struct cstream *s, uint8_t af, const uint8_t *addr, uint16_t version,
                     uint32_t domain, const struct tmpl *t, uint64_t seen)
{
	struct wbuf *w = arg;
	put_key(w, 'T', af, addr, version, domain);
	(void)(wbuf_put_u64(w, seen) || wbuf_put_u16(w, t->id) || wbuf_put_u16(w, t->nfields) ||
	       wbuf_put_u16(w, t->scope_count) || wbuf_put_u8(w, t->flags) || wbuf_put_u8(w, 0));
	for (unsigned i = 0; i < t->nfields; i++)
		(void)(wbuf_put_u16(w, t->f[i].ie) || wbuf_put_u16(w, t->f[i].len) || wbuf_put_u32(w, t->f[i].pen));
}

static void put_samp(void *arg, const struct cstream *s, uint8_t af, const uint8_t *addr, uint16_t version,
                     uint32_t domain, uint64_t id, uint32_t rate)
{
	struct wbuf *w = arg;
	if (id == COLL_INIT_TIME) {
		put_key(w, 'I', af, addr, version, domain);
		(void)wbuf_put_u64(w, coll_stream_init_ms(s));
		return;
	}
	put_key(w, 'S', af, addr, version, domain);
	(void)(wbuf_put_u64(w, id) || wbuf_put_u32(w, rate));
}

int coll_persist_save(struct coll *c, const char *path, char *err, size_t errlen)
{
	struct sizer z = { TP_HDR + 8, 0 };
	coll_walk_persistent(c, size_tmpl, size_samp, &z);
	uint8_t *buf = malloc(z.bytes);
	int rc = -1, fd = -1;
	char tmp[4096 + 8];
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	struct wbuf w;
	wbuf_init(&w, buf, z.bytes);
	(void)(wbuf_put_bytes(&w, TP_MAGIC, 8) || wbuf_put_u16(&w, TP_VERSION) || wbuf_put_u16(&w, 0) ||
	       wbuf_put_u32(&w, z.n) || wbuf_put_u64(&w, lsn_now_us()));
	coll_walk_persistent(c, put_tmpl, put_samp, &w);
	if (wbuf_put_u64(&w, hash_bytes(buf, w.len, 0)) != ERR_OK || w.len != z.bytes) {
		snprintf(err, errlen, "%s: internal size mismatch", path); /* a bug: sizes above disagree */
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < w.len;) {
		ssize_t n = write(fd, buf + off, w.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: write: %s", tmp, n < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(buf);
	return rc;
}

/* One pass over the entries: check only (apply 0), or add (apply 1). */
static int parse_entries(struct coll *c, struct rbuf *r, uint32_t n, int apply, uint64_t now,
                         char *err, size_t errlen)
{
	int loaded = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t kind = 0, af = 0, addr[16];
		uint16_t version = 0;
		uint32_t domain = 0;
		if (rbuf_get_u8(r, &kind) || rbuf_get_u8(r, &af) || rbuf_get_bytes(r, addr, 16) ||
		    rbuf_get_u16(r, &version) || rbuf_get_u32(r, &domain)) {
			snprintf(err, errlen, "entry %u of %u truncated", i + 1, n);
			return -1;
		}
		if (af != 4 && af != 6) {
			snprintf(err, errlen, "entry %u: address family %u", i + 1, af);
			return -1;
		}
		if (kind == 'T') {
			uint64_t seen = 0;
			uint16_t id = 0, nf = 0, scope = 0;
			uint8_t flags = 0, res = 0;
			if (rbuf_get_u64(r, &seen) || rbuf_get_u16(r, &id) || rbuf_get_u16(r, &nf) ||
			    rbuf_get_u16(r, &scope) || rbuf_get_u8(r, &flags) || rbuf_get_u8(r, &res)) {
				snprintf(err, errlen, "entry %u: template truncated", i + 1);
				return -1;
			}
			if ((version != 9 && version != 10) || id < TMPL_ID_MIN || nf == 0 || nf > TMPL_MAX_FIELDS ||
			    scope > nf || (flags & ~TMPL_F_V9) || (version == 9) != !!(flags & TMPL_F_V9) ||
			    rbuf_left(r) / 8 < nf) {
				snprintf(err, errlen, "entry %u: template %u not valid", i + 1, id);
				return -1;
			}
			struct tmpl_field f[TMPL_MAX_FIELDS];
			for (unsigned k = 0; k < nf; k++) {
				(void)(rbuf_get_u16(r, &f[k].ie) || rbuf_get_u16(r, &f[k].len) || rbuf_get_u32(r, &f[k].pen));
				f[k].off = 0;
				if (version == 9 && f[k].pen) {
					snprintf(err, errlen, "entry %u: v9 template %u with an enterprise field", i + 1, id);
					return -1;
				}
			}
			struct tmpl t;
			if (tmpl_init(&t, id, f, nf, scope) != ERR_OK) {
				snprintf(err, errlen, "entry %u: template %u not valid", i + 1, id);
				return -1;
			}
			t.flags = flags;
			if (apply) {
				struct cstream *s = coll_stream_get(c, af, addr, version, domain, 0, true);
				if (!s || coll_stream_load_tmpl(c, s, &t, seen > now ? now : seen) != ERR_OK) {
					snprintf(err, errlen, "entry %u: a limit refused template %u", i + 1, id);
					return -1;
				}
			}
			loaded++;
		} else if (kind == 'S') {
			uint64_t id = 0;
			uint32_t rate = 0;
			if (rbuf_get_u64(r, &id) || rbuf_get_u32(r, &rate)) {
				snprintf(err, errlen, "entry %u: sampler truncated", i + 1);
				return -1;
			}
			if (rate == 0 || (version != 5 && version != 9 && version != 10)) {
				snprintf(err, errlen, "entry %u: sampler not valid", i + 1);
				return -1;
			}
			if (apply) {
				struct cstream *s = coll_stream_get(c, af, addr, version, domain, 0, true);
				if (!s) {
					snprintf(err, errlen, "entry %u: a limit refused a stream", i + 1);
					return -1;
				}
				coll_stream_set_sampler(s, id, rate);
			}
		} else if (kind == 'I') {
			uint64_t init = 0;
			if (rbuf_get_u64(r, &init) || init == 0 || version != 10) {
				snprintf(err, errlen, "entry %u: init time not valid", i + 1);
				return -1;
			}
			if (apply) {
				struct cstream *s = coll_stream_get(c, af, addr, version, domain, 0, true);
				if (!s) {
					snprintf(err, errlen, "entry %u: a limit refused a stream", i + 1);
					return -1;
				}
				coll_stream_set_init_ms(s, init);
			}
		} else {
			snprintf(err, errlen, "entry %u: unknown kind 0x%02x", i + 1, kind);
			return -1;
		}
	}
	if (rbuf_left(r) != 0) {
		snprintf(err, errlen, "%zu bytes after the last entry", rbuf_left(r));
		return -1;
	}
	return loaded;
}

int coll_persist_parse(struct coll *c, const uint8_t *p, size_t len, uint64_t now_us, char *err, size_t errlen)
{
	struct rbuf r;
	uint16_t ver = 0, res = 0;
	uint32_t n = 0;
	uint64_t written = 0;
	if (len < TP_HDR + 8 || memcmp(p, TP_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a templates file");
		return -1;
	}
	if (peek_u64(p + len - 8) != hash_bytes(p, len - 8, 0)) {
		snprintf(err, errlen, "checksum mismatch (file damaged)");
		return -1;
	}
	rbuf_init(&r, p + 8, len - 8 - 8);
	(void)(rbuf_get_u16(&r, &ver) || rbuf_get_u16(&r, &res) || rbuf_get_u32(&r, &n) ||
	       rbuf_get_u64(&r, &written));
	if (ver != TP_VERSION) {
		snprintf(err, errlen, "format version %u (this program reads %u)", ver, TP_VERSION);
		return -1;
	}
	struct rbuf r2 = r;
	if (parse_entries(c, &r, n, 0, now_us, err, errlen) < 0)
		return -1;
	int loaded = parse_entries(c, &r2, n, 1, now_us, err, errlen);
	if (loaded < 0)
		coll_clear(c); /* a limit refused part of it: not half-loaded */
	return loaded;
}

int coll_persist_load(struct coll *c, const char *path, uint64_t now_us, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* first start */
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	struct stat st;
	uint8_t *buf = NULL;
	int rc = -1;
	if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > TP_MAX_FILE) {
		snprintf(err, errlen, "cannot size the file, or larger than %u MiB", TP_MAX_FILE >> 20);
		goto out;
	}
	size_t len = (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t k = read(fd, buf + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "read: %s", k < 0 ? strerror(errno) : "file shrank");
			goto out;
		}
		off += (size_t)k;
	}
	rc = coll_persist_parse(c, buf, len, now_us, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}
