/* log.h — leveled logging to stderr or syslog. The level is tested before
 * any formatting. log_ratelimited() lets a hot error path log at most a few
 * lines a second while its counter keeps the exact count. */
#ifndef IPFLOW_LOG_H
#define IPFLOW_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_NOTE, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern int log_level_cur;

void log_init(const char *ident, bool use_syslog, int level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) do { if (log_level_cur >= LOG_LVL_WARN) log_msg(LOG_LVL_WARN, __VA_ARGS__); } while (0)
#define log_note(...) do { if (log_level_cur >= LOG_LVL_NOTE) log_msg(LOG_LVL_NOTE, __VA_ARGS__); } while (0)
#define log_info(...) do { if (log_level_cur >= LOG_LVL_INFO) log_msg(LOG_LVL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_level_cur >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

/* A token bucket per call site: true if this line may be logged now
 * (at most 5 lines a second, bursts of 10). */
struct log_rl {
	double tokens;
	double last;
};
bool log_ratelimit(struct log_rl *rl);

#endif
