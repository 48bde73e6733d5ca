/* file.c — export messages to a file (file:PATH; file:- is stdout).
 *
 * Messages are written back to back with nothing between them: for IPFIX
 * that is an IPFIX File (RFC 5655 §6), readable by libfixbuf's ipfixDump;
 * for v5/v9 it is the same concatenation some tools call a "raw" dump.
 * The file is created or truncated at open. */
#include "transport/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"

struct file {
	struct transport base;
	int fd;
	int own; /* close fd at the end (not stdout) */
};

static struct transport *file_open(const char *path, const struct transport_opts *o, char *err, size_t errlen)
{
	(void)o;
	int own = strcmp(path, "-") != 0;
	if (*path == '\0') {
		snprintf(err, errlen, "`file:': empty path");
		return NULL;
	}
	int fd = own ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : STDOUT_FILENO;
	if (fd < 0) {
		snprintf(err, errlen, "`file:%s': %s", path, strerror(errno));
		return NULL;
	}
	struct file *f = calloc(1, sizeof(*f));
	if (!f) {
		if (own)
			close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->base.ops = &transport_file_ops;
	f->base.overhead = 0;
	f->fd = fd;
	f->own = own;
	return &f->base;
}

static int file_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	struct file *f = (struct file *)t;
	const uint8_t *p = msg;
	size_t left = len;
	(void)flags;
	while (left) {
		ssize_t n = write(f->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(t->err, sizeof(t->err), "file write: %s", n < 0 ? strerror(errno) : "no progress");
			t->st.errors++;
			return ERR_IO; /* a partial message may be on disk: the file is damaged from here */
		}
		p += n;
		left -= (size_t)n;
	}
	t->st.msgs++;
	t->st.bytes += len;
	return ERR_OK;
}

static void file_close(struct transport *t)
{
	struct file *f = (struct file *)t;
	if (f->own)
		close(f->fd);
	free(f);
}

const struct transport_ops transport_file_ops = {
	.scheme = "file", .open = file_open, .send = file_send, .close = file_close,
};
