/* kafkamock.c — librdkafka's in-process mock Kafka cluster as a broker
 * for tests (no Kafka broker is packaged in Debian).
 *
 *   kafkamock BOOTSTRAP_FILE [TOPIC...]
 *
 * Starts a one-broker mock cluster on 127.0.0.1 (a port the kernel
 * picks), creates each TOPIC (default "flows"; 1 partition), writes the
 * bootstrap servers to BOOTSTRAP_FILE and serves until stdin closes or a
 * SIGTERM/SIGINT. The mock keeps only the last few MB per partition:
 * tests must stay under that. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: kafkamock BOOTSTRAP_FILE [TOPIC...]\n");
		return 1;
	}
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "kafkamock: %s\n", err);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
	if (!mc) {
		fprintf(stderr, "kafkamock: cannot create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	for (int i = argc > 2 ? 2 : 1; i < argc; i++) {
		const char *topic = argc > 2 ? argv[i] : "flows";
		if (rd_kafka_mock_topic_create(mc, topic, 1, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "kafkamock: cannot create topic %s\n", topic);
			return 1;
		}
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 || fclose(f) != 0 ||
	    rename(tmp, argv[1]) != 0) {
		perror(argv[1]);
		return 1;
	}
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	while (!stop) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		int n = poll(&p, 1, 200);
		if (n > 0) {
			char b[256];
			if (read(0, b, sizeof(b)) <= 0)
				break;
		}
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
