/* err.h — one error space for the whole tree: 0 is success, errors are
 * negative. err_str() gives a fixed message for each. */
#ifndef IPFLOW_ERR_H
#define IPFLOW_ERR_H

enum {
	ERR_OK = 0,
	ERR_TRUNC = -1,     /* input ended before the field did */
	ERR_NOSPACE = -2,   /* output buffer has no room */
	ERR_FORMAT = -3,    /* input is malformed */
	ERR_RANGE = -4,     /* value out of range */
	ERR_NOMEM = -5,     /* allocation failed */
	ERR_ARG = -6,       /* caller passed a bad argument */
	ERR_UNSUPP = -7,    /* valid but not supported */
	ERR_IO = -8,        /* system call failed; see errno */
	ERR_FULL = -9,      /* bounded container is full */
	ERR_NOTFOUND = -10, /* lookup found nothing */
	ERR_END = -11,      /* iterator reached the end (not an error) */
	ERR_MIN_ = -12
};

/* Fixed message for code r; never NULL. */
const char *err_str(int r);

#endif
