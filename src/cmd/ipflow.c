/* ipflow — the operator CLI: sends one command to a running ipflowd over
 * its control socket and prints the answer.
 *   ipflow [-S PATH] show ip cache flow [--json]
 *   ipflow [-S PATH] clear ip flow stats
 *   ipflow [-S PATH] reload
 *   ipflow [-S PATH] debug ip flow export      (streams until interrupted) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

static void usage(FILE *out)
{
	fputs("usage: ipflow [-S SOCKET] COMMAND... [--json]\n"
	      "       ipflow [-S SOCKET] help      list the commands ipflowd answers\n"
	      "SOCKET defaults to " CTL_DEFAULT_PATH " (or $IPFLOW_SOCKET).\n", out);
}

int main(int argc, char **argv)
{
	const char *path = getenv("IPFLOW_SOCKET");
	int i = 1;
	if (!path || !*path)
		path = CTL_DEFAULT_PATH;
	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--json") != 0; i++) {
		if (strcmp(argv[i], "-S") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	int first = i;
	char line[CTL_LINE_MAX + 1] = "";
	size_t len = 0;
	for (; i < argc; i++) {
		size_t l = strlen(argv[i]);
		if (len + l + 2 > sizeof(line)) {
			fprintf(stderr, "ipflow: command too long\n");
			return 2;
		}
		if (len)
			line[len++] = ' ';
		memcpy(line + len, argv[i], l);
		len += l;
		line[len] = 0;
	}
	/* "debug ..." streams events until interrupted: no answer timeout */
	if (strncmp(line, "debug", strlen(argv[first])) == 0 && strlen(argv[first]) >= 3)
		return ctl_request_ex(path, line, stdout, stderr, 0);
	return ctl_request(path, line, stdout, stderr);
}
