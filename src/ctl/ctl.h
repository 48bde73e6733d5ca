/* ctl.h — the control socket: a UNIX stream socket on which ipflowd
 * answers one command per connection ("show ip cache flow", ...).
 *
 * Wire protocol (both ends in this tree): the client sends one line of
 * at most CTL_LINE_MAX bytes; the server answers "OK\n" or "ERR\n", then
 * the output, then closes. Words match the command table by unambiguous
 * prefix, as IOS does ("sh ip ca fl"). A trailing "--json" word asks for
 * JSON output. */
#ifndef IPFLOW_CTL_H
#define IPFLOW_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_LINE_MAX 1024
#define CTL_DEFAULT_PATH "/run/ipflow/ipflowd.sock"

/* A handler prints its answer to out; argv holds the words after the
 * matched command (e.g. the name in "show flow monitor NAME"). Returns 0,
 * or -1 after printing an error message, or CTL_STREAM: answer OK, then
 * keep the connection open as a subscriber of ctl_broadcast() (e.g.
 * "debug ip flow export") until the client closes it. */
#define CTL_STREAM 1
typedef int (*ctl_fn)(void *arg, FILE *out, int argc, char **argv, bool json);

struct ctl_cmd {
	const char *words; /* "show ip cache flow" */
	int nargs;         /* extra words required after the command (0 or more), -1 = any */
	const char *help;
	ctl_fn fn;
};

struct ctl;

/* Listen on path (an existing socket file is replaced), mode 0660,
 * group gid unless gid is (gid_t)-1. */
struct ctl *ctl_open(const char *path, int gid, char *err, size_t errlen);
void ctl_close(struct ctl *c); /* removes the socket file; NULL is a no-op */

/* The table stays owned by the caller and must outlive c. */
void ctl_set_commands(struct ctl *c, const struct ctl_cmd *cmds, size_t n, void *arg);
int ctl_fd(const struct ctl *c);

/* Serve every pending connection (non-blocking accept). A client gets at
 * most 1 s to send its line and to take the answer. */
void ctl_serve(struct ctl *c);

/* Run one command line against a table (used by ctl_serve and tests):
 * prints the answer to out, returns 0 or -1. */
int ctl_dispatch(const struct ctl_cmd *cmds, size_t n, void *arg, const char *line, FILE *out);

/* Send text (one or more lines) to every subscriber, without blocking:
 * a subscriber that cannot take it loses it (counted in *dropped), one
 * that has gone is closed. At most CTL_SUBSCRIBERS_MAX subscribers. */
#define CTL_SUBSCRIBERS_MAX 8
void ctl_broadcast(struct ctl *c, const char *text);
size_t ctl_subscribers(const struct ctl *c);
uint64_t ctl_broadcast_dropped(const struct ctl *c);

/* Client side: send line to the socket at path and copy the answer to
 * out. Returns 0 (OK), 1 (command failed), 2 (cannot reach the daemon). */
int ctl_request(const char *path, const char *line, FILE *out, FILE *errout);
/* The same, waiting at most timeout_s for each piece of the answer (0:
 * forever, for streams), flushing out as it arrives. */
int ctl_request_ex(const char *path, const char *line, FILE *out, FILE *errout, int timeout_s);

#endif
