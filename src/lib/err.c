#include "lib/err.h"

static const char *const err_msg[] = {
	[-ERR_OK] = "success",
	[-ERR_TRUNC] = "input truncated",
	[-ERR_NOSPACE] = "no space left in buffer",
	[-ERR_FORMAT] = "malformed input",
	[-ERR_RANGE] = "value out of range",
	[-ERR_NOMEM] = "out of memory",
	[-ERR_ARG] = "invalid argument",
	[-ERR_UNSUPP] = "not supported",
	[-ERR_IO] = "I/O error",
	[-ERR_FULL] = "container full",
	[-ERR_NOTFOUND] = "not found",
	[-ERR_END] = "end of input",
};

const char *err_str(int r)
{
	if (r > 0 || r <= ERR_MIN_)
		return "unknown error";
	return err_msg[-r];
}
