/* ctl.c — control socket server and client; see ctl.h. */
#include "ctl/ctl.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_WORDS 16

struct ctl {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct ctl_cmd *cmds;
	size_t ncmds;
	void *arg;
	int sub[CTL_SUBSCRIBERS_MAX];
	size_t nsub;
	uint64_t dropped;
};

static int sun_of(const char *path, struct sockaddr_un *sun, char *err, size_t errlen)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

struct ctl *ctl_open(const char *path, int gid, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	if (sun_of(path, &sun, err, errlen) != 0)
		return NULL;
	struct ctl *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(c->path, sun.sun_path, sizeof(c->path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	/* Replace a stale socket, but never another kind of file. */
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			goto fail;
		}
		unlink(path);
	}
	mode_t old = umask(0117);
	int r = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r != 0)
		goto fail;
	if (chmod(path, 0660) != 0)
		goto fail;
	if (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) != 0)
		goto fail;
	if (listen(c->fd, 16) != 0)
		goto fail;
	return c;
fail:
	snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return NULL;
}

void ctl_close(struct ctl *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nsub; i++)
		close(c->sub[i]);
	close(c->fd);
	unlink(c->path);
	free(c);
}

void ctl_set_commands(struct ctl *c, const struct ctl_cmd *cmds, size_t n, void *arg)
{
	c->cmds = cmds;
	c->ncmds = n;
	c->arg = arg;
}

int ctl_fd(const struct ctl *c)
{
	return c->fd;
}

static int split_words(char *s, char **w, int max)
{
	int n = 0;
	for (char *tok = strtok(s, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
		if (n == max)
			return -1;
		w[n++] = tok;
	}
	return n;
}

/* Does the command's word list match the first words of the request by
 * prefix? Returns the number of command words, or 0. */
static int match_cmd(const char *words, char **w, int nw)
{
	char buf[256];
	char *cw[MAX_WORDS];
	snprintf(buf, sizeof(buf), "%s", words);
	int n = split_words(buf, cw, MAX_WORDS);
	if (n <= 0 || n > nw)
		return 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(w[i]);
		if (l == 0 || l > strlen(cw[i]) || strncmp(cw[i], w[i], l) != 0)
			return 0;
	}
	return n;
}

static void print_help(const struct ctl_cmd *cmds, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-40s %s\n", cmds[i].words, cmds[i].help);
}

int ctl_dispatch(const struct ctl_cmd *cmds, size_t n, void *arg, const char *line, FILE *out)
{
	char buf[CTL_LINE_MAX + 1];
	char *w[MAX_WORDS];
	snprintf(buf, sizeof(buf), "%s", line);
	int nw = split_words(buf, w, MAX_WORDS);
	if (nw < 0) {
		fprintf(out, "%% Too many words\n");
		return -1;
	}
	bool json = false;
	if (nw > 0 && strcmp(w[nw - 1], "--json") == 0) {
		json = true;
		nw--;
	}
	if (nw == 0 || strcmp(w[0], "help") == 0 || strcmp(w[0], "?") == 0) {
		print_help(cmds, n, out);
		return nw == 0 ? -1 : 0;
	}
	/* The longest exact-arity match wins; several equally good matches are
	 * ambiguous (as an IOS abbreviation would be). */
	const struct ctl_cmd *best = NULL;
	int best_len = 0, ties = 0;
	for (size_t i = 0; i < n; i++) {
		int len = match_cmd(cmds[i].words, w, nw);
		if (!len)
			continue;
		int extra = nw - len;
		if (cmds[i].nargs >= 0 && extra != cmds[i].nargs)
			continue;
		if (len > best_len) {
			best = &cmds[i];
			best_len = len;
			ties = 0;
		} else if (len == best_len) {
			ties++;
		}
	}
	if (!best) {
		fprintf(out, "%% Invalid input: '%s'\n", line);
		print_help(cmds, n, out);
		return -1;
	}
	if (ties) {
		fprintf(out, "%% Ambiguous command: \"%s\"\n", line);
		return -1;
	}
	return best->fn(arg, out, nw - best_len, w + best_len, json);
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Returns true if fd became a subscriber (kept open). */
static bool serve_one(struct ctl *c, int fd)
{
	char line[CTL_LINE_MAX + 1];
	size_t len = 0;
	set_timeouts(fd);
	while (len < CTL_LINE_MAX) {
		ssize_t r = recv(fd, line + len, CTL_LINE_MAX - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = 0;
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = 0;
	char *body = NULL;
	size_t blen = 0;
	FILE *out = open_memstream(&body, &blen);
	if (!out)
		return false;
	int rc = ctl_dispatch(c->cmds, c->ncmds, c->arg, line, out);
	fclose(out);
	if (rc == CTL_STREAM && c->nsub == CTL_SUBSCRIBERS_MAX) {
		free(body);
		body = NULL;
		blen = 0;
		out = open_memstream(&body, &blen);
		if (out) {
			fprintf(out, "%% Too many debug sessions (at most %d)\n", CTL_SUBSCRIBERS_MAX);
			fclose(out);
		}
		rc = -1;
	}
	bool ok = rc == 0 || rc == CTL_STREAM;
	write_all(fd, ok ? "OK\n" : "ERR\n", ok ? 3 : 4);
	write_all(fd, body, blen);
	free(body);
	if (rc != CTL_STREAM)
		return false;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c->sub[c->nsub++] = fd;
	return true;
}

void ctl_broadcast(struct ctl *c, const char *text)
{
	size_t len = strlen(text);
	for (size_t i = 0; i < c->nsub;) {
		ssize_t w = send(c->sub[i], text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->dropped++;
		} else if (w < 0) { /* the client has gone */
			close(c->sub[i]);
			c->sub[i] = c->sub[--c->nsub];
			continue;
		} else if ((size_t)w < len) {
			c->dropped++;
		}
		i++;
	}
}

size_t ctl_subscribers(const struct ctl *c)
{
	return c ? c->nsub : 0;
}

uint64_t ctl_broadcast_dropped(const struct ctl *c)
{
	return c ? c->dropped : 0;
}

void ctl_serve(struct ctl *c)
{
	for (;;) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* accepted sockets must block (with timeouts), not inherit O_NONBLOCK */
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		if (!serve_one(c, fd))
			close(fd);
	}
}

int ctl_request(const char *path, const char *line, FILE *out, FILE *errout)
{
	return ctl_request_ex(path, line, out, errout, 10);
}

int ctl_request_ex(const char *path, const char *line, FILE *out, FILE *errout, int timeout_s)
{
	struct sockaddr_un sun;
	char err[256];
	if (sun_of(path, &sun, err, sizeof(err)) != 0) {
		fprintf(errout, "%s\n", err);
		return 2;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(errout, "cannot reach ipflowd at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 2;
	}
	struct timeval tv = { .tv_sec = timeout_s };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	write_all(fd, line, strlen(line));
	write_all(fd, "\n", 1);
	char buf[8192];
	int status = -1;
	size_t have = 0;
	char head[8];
	ssize_t r;
	while ((r = recv(fd, buf, sizeof(buf), 0)) > 0) {
		size_t off = 0;
		while (status < 0 && off < (size_t)r) {
			char ch = buf[off++];
			if (have < sizeof(head) - 1)
				head[have++] = ch;
			if (ch == '\n') {
				head[have] = 0;
				status = strcmp(head, "OK\n") == 0 ? 0 : 1;
			}
		}
		fwrite(buf + off, 1, (size_t)r - off, out);
		fflush(out);
	}
	close(fd);
	if (status < 0) {
		fprintf(errout, "ipflowd at %s closed the connection without an answer\n", path);
		return 2;
	}
	return status;
}
