/* test_ctl.c — control command dispatch: IOS-style abbreviations,
 * ambiguity, arguments, --json; and a round trip over a real socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl/ctl.h"

static char last[64];
static int last_argc;
static bool last_json;

static int h(void *arg, FILE *out, int argc, char **argv, bool json)
{
	snprintf(last, sizeof(last), "%s", (const char *)arg);
	last_argc = argc;
	last_json = json;
	fprintf(out, "ran %s%s%s\n", (const char *)arg, argc ? " " : "", argc ? argv[0] : "");
	return 0;
}

static int h_cache(void *a, FILE *o, int c, char **v, bool j) { return h("cache", o, c, v, j); }
static int h_verbose(void *a, FILE *o, int c, char **v, bool j) { return h("verbose", o, c, v, j); }
static int h_export(void *a, FILE *o, int c, char **v, bool j) { return h("export", o, c, v, j); }
static int h_template(void *a, FILE *o, int c, char **v, bool j) { return h("template", o, c, v, j); }
static int h_monitor(void *a, FILE *o, int c, char **v, bool j) { return h("monitor", o, c, v, j); }

static const struct ctl_cmd cmds[] = {
	{ "show ip cache flow", 0, "", h_cache },
	{ "show ip cache verbose flow", 0, "", h_verbose },
	{ "show ip flow export", 0, "", h_export },
	{ "show ip flow export template", 0, "", h_template },
	{ "show flow monitor", 1, "", h_monitor },
};
#define N (sizeof(cmds) / sizeof(cmds[0]))

static int run(const char *line, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");
	assert_non_null(f);
	last[0] = 0;
	int r = ctl_dispatch(cmds, N, NULL, line, f);
	fclose(f);
	return r;
}

static void test_dispatch(void **state)
{
	char buf[4096];
	assert_int_equal(run("show ip cache flow", buf, sizeof(buf)), 0);
	assert_string_equal(last, "cache");
	assert_int_equal(run("sh ip ca fl", buf, sizeof(buf)), 0);
	assert_string_equal(last, "cache");
	assert_int_equal(run("sh ip ca v f --json", buf, sizeof(buf)), 0);
	assert_string_equal(last, "verbose");
	assert_true(last_json);
	/* the longer command wins over its own prefix */
	assert_int_equal(run("show ip flow export template", buf, sizeof(buf)), 0);
	assert_string_equal(last, "template");
	assert_int_equal(run("show ip flow export", buf, sizeof(buf)), 0);
	assert_string_equal(last, "export");
	assert_false(last_json);
	/* arguments */
	assert_int_equal(run("show flow monitor M1", buf, sizeof(buf)), 0);
	assert_string_equal(last, "monitor");
	assert_int_equal(last_argc, 1);
	assert_non_null(strstr(buf, "ran monitor M1"));
	assert_int_equal(run("show flow monitor", buf, sizeof(buf)), -1);
	assert_string_equal(last, "");
	/* unknown and too many words */
	assert_int_equal(run("show ip route", buf, sizeof(buf)), -1);
	assert_non_null(strstr(buf, "% Invalid input"));
	assert_int_equal(run("a b c d e f g h i j k l m n o p q r", buf, sizeof(buf)), -1);
	assert_int_equal(run("", buf, sizeof(buf)), -1);
}

static void test_socket_roundtrip(void **state)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/ipflow-test-ctl-%d.sock", (int)getpid());
	char err[256];
	struct ctl *c = ctl_open(path, -1, err, sizeof(err));
	assert_non_null(c);
	ctl_set_commands(c, cmds, N, NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char out[256] = "";
		FILE *f = fmemopen(out, sizeof(out), "w");
		int r = ctl_request(path, "sh ip ca fl", f, stderr);
		fclose(f);
		_exit(r == 0 && strcmp(out, "ran cache\n") == 0 ? 0 : 3);
	}
	/* serve until the child has its answer */
	int status = 0;
	for (int i = 0; i < 500; i++) {
		ctl_serve(c);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(10000);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ctl_close(c);
	assert_int_equal(access(path, F_OK), -1);
	/* nobody listening: exit code 2 */
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(ctl_request(path, "x", devnull, devnull), 2);
	fclose(devnull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_socket_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
