/* spool.c — bounded on-disk batch queue (see spool.h for the contract and
 * the file layout). The index is an array of (seq, rows, size) sorted by
 * seq, oldest at head; files are read only when peeked. */
#include "collect/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/buf.h"
#include "lib/err.h"

static const uint8_t spool_magic[8] = { 'I', 'P', 'F', 'L', 'S', 'P', 'L', '1' };

struct spool_ent {
	uint64_t seq;
	uint64_t size; /* file size: header + payload */
	uint32_t rows;
};

struct spool {
	char *dir;
	int lockfd;
	uint64_t next_seq;
	struct spool_ent *ent; /* ring buffer: head..head+n */
	size_t head, n, cap;
	struct spool_stats st;
};

static struct spool_ent *ent_at(const struct spool *sp, size_t i)
{
	return &sp->ent[(sp->head + i) % sp->cap];
}

static int ent_push(struct spool *sp, const struct spool_ent *e)
{
	if (sp->n == sp->cap) {
		size_t ncap = sp->cap ? sp->cap * 2 : 64;
		struct spool_ent *ne = malloc(ncap * sizeof(*ne));
		if (!ne)
			return ERR_NOMEM;
		for (size_t i = 0; i < sp->n; i++)
			ne[i] = *ent_at(sp, i);
		free(sp->ent);
		sp->ent = ne;
		sp->cap = ncap;
		sp->head = 0;
	}
	sp->ent[(sp->head + sp->n) % sp->cap] = *e;
	sp->n++;
	return ERR_OK;
}

static void file_name(const struct spool *sp, uint64_t seq, const char *ext, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%016llx%s", sp->dir, (unsigned long long)seq, ext);
}

static uint32_t crc_of(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);
	c = crc32(c, hdr, 36);
	/* crc32 takes uInt lengths: feed large payloads in pieces */
	while (len > 0) {
		uInt k = len > 0x40000000u ? 0x40000000u : (uInt)len;
		c = crc32(c, payload, k);
		payload += k;
		len -= k;
	}
	return (uint32_t)c;
}

void spool_build_hdr(uint8_t hdr[SPOOL_HDR_LEN], const struct spool_item *it)
{
	struct wbuf w;
	wbuf_init(&w, hdr, SPOOL_HDR_LEN);
	/* capacity is exact: none of these can fail */
	(void)wbuf_put_bytes(&w, spool_magic, sizeof(spool_magic));
	(void)wbuf_put_u32(&w, it->rows);
	(void)wbuf_put_u32(&w, it->flags);
	(void)wbuf_put_u64(&w, it->batch_id);
	(void)wbuf_put_u64(&w, it->meta);
	(void)wbuf_put_u32(&w, (uint32_t)it->len);
	(void)wbuf_put_u32(&w, crc_of(hdr, it->data, it->len));
}

/* Header only: fills rows etc. and the payload length it announces. */
static int parse_hdr(struct rbuf *r, struct spool_item *it, uint32_t *plen, uint32_t *crc)
{
	const uint8_t *m = rbuf_take(r, sizeof(spool_magic));
	if (!m)
		return ERR_TRUNC;
	if (memcmp(m, spool_magic, sizeof(spool_magic)) != 0)
		return ERR_FORMAT;
	if (rbuf_get_u32(r, &it->rows) || rbuf_get_u32(r, &it->flags) || rbuf_get_u64(r, &it->batch_id) ||
	    rbuf_get_u64(r, &it->meta) || rbuf_get_u32(r, plen) || rbuf_get_u32(r, crc))
		return ERR_TRUNC;
	if (*plen > SPOOL_MAX_PAYLOAD)
		return ERR_FORMAT;
	return ERR_OK;
}

int spool_parse(const uint8_t *p, size_t len, struct spool_item *it)
{
	struct rbuf r;
	uint32_t plen, crc;
	rbuf_init(&r, p, len);
	memset(it, 0, sizeof(*it));
	int rc = parse_hdr(&r, it, &plen, &crc);
	if (rc)
		return rc;
	const uint8_t *payload = rbuf_take(&r, plen);
	if (!payload)
		return ERR_TRUNC;
	if (rbuf_left(&r) != 0)
		return ERR_FORMAT;
	if (crc_of(p, payload, plen) != crc)
		return ERR_FORMAT;
	it->data = (uint8_t *)payload;
	it->len = plen;
	return ERR_OK;
}

void spool_item_free(struct spool_item *it)
{
	if (!it)
		return;
	free(it->data);
	it->data = NULL;
	it->len = 0;
}

/* Delete the head entry's file and forget it. */
static void drop_head(struct spool *sp)
{
	char path[4096];
	struct spool_ent *e = ent_at(sp, 0);
	file_name(sp, e->seq, ".spl", path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		sp->st.io_errors++;
	sp->st.batches--;
	sp->st.rows -= e->rows;
	sp->st.bytes -= e->size;
	sp->head = (sp->head + 1) % sp->cap;
	sp->n--;
}

static void drop_oldest_counted(struct spool *sp)
{
	sp->st.dropped_batches++;
	sp->st.dropped_rows += ent_at(sp, 0)->rows;
	drop_head(sp);
}

static int cmp_ent(const void *a, const void *b)
{
	const struct spool_ent *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "0123456789abcdef.spl" → seq; 0 if the name is not a batch file. */
static int parse_name(const char *name, const char *ext, uint64_t *seq)
{
	size_t el = strlen(ext);
	if (strlen(name) != 16 + el || strcmp(name + 16, ext) != 0)
		return 0;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return 0;
		v = v << 4 | d;
	}
	*seq = v;
	return 1;
}

/* Read a file's header for its row count; 0 rows if unreadable (it will
 * be found corrupt when peeked). */
static uint32_t read_rows(const char *path)
{
	uint8_t hdr[SPOOL_HDR_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	struct spool_item it;
	struct rbuf r;
	uint32_t plen, crc;
	rbuf_init(&r, hdr, n > 0 ? (size_t)n : 0);
	memset(&it, 0, sizeof(it));
	return parse_hdr(&r, &it, &plen, &crc) == ERR_OK ? it.rows : 0;
}

static int scan(struct spool *sp, char *err, size_t errlen)
{
	DIR *d = opendir(sp->dir);
	if (!d) {
		snprintf(err, errlen, "spool %s: %s", sp->dir, strerror(errno));
		return ERR_IO;
	}
	struct dirent *de;
	char path[4096];
	while ((de = readdir(d)) != NULL) {
		uint64_t seq;
		if (parse_name(de->d_name, ".tmp", &seq)) {
			/* a write that never finished: not a batch */
			snprintf(path, sizeof(path), "%s/%s", sp->dir, de->d_name);
			unlink(path);
			continue;
		}
		if (!parse_name(de->d_name, ".spl", &seq))
			continue;
		snprintf(path, sizeof(path), "%s/%s", sp->dir, de->d_name);
		struct stat stt;
		if (stat(path, &stt) != 0 || !S_ISREG(stt.st_mode))
			continue;
		struct spool_ent e = { .seq = seq, .size = (uint64_t)stt.st_size, .rows = read_rows(path) };
		if (ent_push(sp, &e) != ERR_OK) {
			closedir(d);
			snprintf(err, errlen, "spool %s: out of memory", sp->dir);
			return ERR_NOMEM;
		}
		sp->st.batches++;
		sp->st.rows += e.rows;
		sp->st.bytes += e.size;
		if (seq >= sp->next_seq)
			sp->next_seq = seq + 1;
	}
	closedir(d);
	/* ent_push filled sp->ent[0..n) from head 0: sort in place */
	if (sp->n > 1)
		qsort(sp->ent, sp->n, sizeof(*sp->ent), cmp_ent);
	while (sp->st.bytes > sp->st.max_bytes && sp->n > 0)
		drop_oldest_counted(sp);
	return ERR_OK;
}

/* mkdir -p: every missing component of dir, mode 0750. */
static int mkdirs(const char *dir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s", dir);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0750) != 0 && errno != EEXIST)
			return -1;
		*c = '/';
	}
	return mkdir(p, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct spool *sp = NULL;
	char path[4096];
	if (!dir || !*dir || strlen(dir) > 3000) {
		snprintf(err, errlen, "spool: bad directory name");
		return NULL;
	}
	if (mkdirs(dir) != 0) {
		snprintf(err, errlen, "spool %s: cannot create: %s", dir, strerror(errno));
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp || !(sp->dir = strdup(dir))) {
		snprintf(err, errlen, "spool %s: out of memory", dir);
		goto fail;
	}
	sp->lockfd = -1;
	sp->st.max_bytes = max_bytes ? max_bytes : SPOOL_DEFAULT_BYTES;
	snprintf(path, sizeof(path), "%s/LOCK", dir);
	sp->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->lockfd < 0) {
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "spool %s is in use by another process (%s)", dir, strerror(errno));
		goto fail;
	}
	if (scan(sp, err, errlen) != ERR_OK)
		goto fail;
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	free(sp->ent);
	free(sp->dir);
	free(sp);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return ERR_OK;
}

int spool_put(struct spool *sp, const struct spool_item *it)
{
	if (it->len > SPOOL_MAX_PAYLOAD)
		return ERR_ARG;
	uint64_t size = SPOOL_HDR_LEN + (uint64_t)it->len;
	if (size > sp->st.max_bytes) {
		sp->st.dropped_batches++;
		sp->st.dropped_rows += it->rows;
		return ERR_FULL;
	}
	while (sp->n > 0 && sp->st.bytes + size > sp->st.max_bytes)
		drop_oldest_counted(sp);

	uint8_t hdr[SPOOL_HDR_LEN];
	char tmp[4096], fin[4096];
	uint64_t seq = sp->next_seq;
	spool_build_hdr(hdr, it);
	file_name(sp, seq, ".tmp", tmp, sizeof(tmp));
	file_name(sp, seq, ".spl", fin, sizeof(fin));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto ioerr;
	if (write_all(fd, hdr, sizeof(hdr)) || write_all(fd, it->data, it->len) || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		goto ioerr;
	}
	if (close(fd) != 0 || rename(tmp, fin) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		goto ioerr;
	}
	struct spool_ent e = { .seq = seq, .size = size, .rows = it->rows };
	if (ent_push(sp, &e) != ERR_OK) {
		unlink(fin);
		errno = ENOMEM;
		goto ioerr;
	}
	sp->next_seq = seq + 1;
	sp->st.batches++;
	sp->st.rows += it->rows;
	sp->st.bytes += size;
	sp->st.put_batches++;
	return ERR_OK;
ioerr:
	sp->st.io_errors++;
	return ERR_IO;
}

int spool_peek(struct spool *sp, struct spool_item *it)
{
	char path[4096];
	memset(it, 0, sizeof(*it));
	while (sp->n > 0) {
		struct spool_ent *e = ent_at(sp, 0);
		file_name(sp, e->seq, ".spl", path, sizeof(path));
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		uint8_t *buf = NULL;
		struct stat stt;
		int rc = ERR_FORMAT;
		if (fd < 0) {
			if (errno != ENOENT) {
				sp->st.io_errors++;
				return ERR_IO;
			}
			/* removed under us: count it as corrupt, move on */
		} else if (fstat(fd, &stt) == 0 && (uint64_t)stt.st_size <= SPOOL_HDR_LEN + (uint64_t)SPOOL_MAX_PAYLOAD) {
			size_t len = (size_t)stt.st_size;
			buf = malloc(len ? len : 1);
			if (!buf) {
				close(fd);
				return ERR_NOMEM;
			}
			size_t got = 0;
			while (got < len) {
				ssize_t k = pread(fd, buf + got, len - got, (off_t)got);
				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0)
					break;
				got += (size_t)k;
			}
			if (got == len)
				rc = spool_parse(buf, len, it);
		}
		if (fd >= 0)
			close(fd);
		if (rc == ERR_OK) {
			/* move the payload to its own allocation, drop the header */
			memmove(buf, it->data, it->len);
			it->data = buf;
			it->seq = e->seq;
			return ERR_OK;
		}
		free(buf);
		memset(it, 0, sizeof(*it));
		sp->st.corrupt++;
		sp->st.corrupt_rows += e->rows;
		drop_head(sp);
	}
	return ERR_END;
}

int spool_pop(struct spool *sp)
{
	if (sp->n == 0)
		return ERR_END;
	drop_head(sp);
	sp->st.popped_batches++;
	return ERR_OK;
}

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}
