#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

int log_level_cur = LOG_LVL_NOTE;
static bool log_syslog;
static const char *log_ident = "ipflow";

void log_init(const char *ident, bool use_syslog, int level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_level_cur = level;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_msg(int level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "note", "info", "debug" };
	va_list ap;

	if (level > log_level_cur)
		return;
	if (level < 0)
		level = 0;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio[level], fmt, ap);
	} else {
		fprintf(stderr, "%s: %s: ", log_ident, name[level]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

bool log_ratelimit(struct log_rl *rl)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (rl->last == 0) {
		rl->tokens = 10;
		rl->last = now;
	}
	rl->tokens += (now - rl->last) * 5;
	if (rl->tokens > 10)
		rl->tokens = 10;
	rl->last = now;
	if (rl->tokens < 1)
		return false;
	rl->tokens -= 1;
	return true;
}
