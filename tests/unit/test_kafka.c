/* test_kafka.c — the Kafka sink in goflow2's format against librdkafka's
 * in-process mock cluster: every record delivered, read back by a
 * consumer and unpacked with the generated FlowMessage code field by
 * field (IPv4 as 4 bytes, IPv6 as 16, ICMP type/code, the exporter as
 * sampler address and key); the JSON rendering; produce errors from the
 * broker counted as dropped so that records = written + dropped; a bad
 * spec refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/flow.pb-c.h"
#include "collect/sink.h"
#include "lib/err.h"

size_t kafka_encode_protobuf(const struct crec *r, uint8_t *out, size_t cap);
size_t kafka_encode_json(const struct crec *r, char *out, size_t cap);

static void mkrec(struct crec *r, unsigned i)
{
	memset(r, 0, sizeof(*r));
	r->version = 10;
	r->domain = 9;
	r->sampling = 1;
	r->recv_us = 1700000100000000ull + i;
	inet_pton(AF_INET, "192.0.2.1", r->exporter);
	r->exporter_af = 4;
	if (i % 3 == 2) {
		r->f.key.af = 6;
		inet_pton(AF_INET6, "2001:db8::1", r->f.key.src);
		inet_pton(AF_INET6, "2001:db8::2", r->f.key.dst);
		r->f.key.proto = 58;
		r->f.key.dport = 128 << 8; /* echo request */
	} else {
		r->f.key.af = 4;
		inet_pton(AF_INET, "10.0.0.1", r->f.key.src);
		inet_pton(AF_INET, "10.0.0.2", r->f.key.dst);
		r->f.key.proto = 6;
		r->f.key.sport = 1000;
		r->f.key.dport = 443;
	}
	r->f.key.ifindex = 3;
	r->f.if_out = 4;
	r->f.packets = 1 + i;
	r->f.bytes = 100 + i;
	r->f.first_us = 1700000000000000ull;
	r->f.last_us = 1700000001000000ull;
	r->f.src_as = 65001;
	r->f.dst_mask = 24;
}

/* The varint length prefix: the message's length, and where it starts. */
static size_t delim(const uint8_t *p, size_t len, size_t *off)
{
	size_t v = 0;
	unsigned shift = 0;
	for (size_t i = 0; i < len && i < 10; i++) {
		v |= (size_t)(p[i] & 0x7f) << shift;
		shift += 7;
		if (!(p[i] & 0x80)) {
			*off = i + 1;
			return v;
		}
	}
	fail_msg("bad varint prefix");
	return 0;
}

static void test_encode(void **state)
{
	(void)state;
	struct crec r;
	uint8_t buf[512];
	mkrec(&r, 0);
	size_t n = kafka_encode_protobuf(&r, buf, sizeof(buf)), off = 0;
	size_t dl = delim(buf, n, &off);
	assert_int_equal(dl, n - off); /* length-delimited */
	Flowpb__FlowMessage *m = flowpb__flow_message__unpack(NULL, n - off, buf + off);
	assert_non_null(m);
	assert_int_equal(m->type, FLOWPB__FLOW_MESSAGE__FLOW_TYPE__IPFIX);
	assert_int_equal(m->time_received_ns, 1700000100000000000ull);
	assert_int_equal(m->time_flow_start_ns, 1700000000000000000ull);
	assert_int_equal(m->time_flow_end_ns, 1700000001000000000ull);
	assert_int_equal(m->bytes, 100);
	assert_int_equal(m->packets, 1);
	assert_int_equal(m->src_addr.len, 4);
	assert_memory_equal(m->src_addr.data, "\x0a\x00\x00\x01", 4);
	assert_int_equal(m->sampler_address.len, 4);
	assert_memory_equal(m->sampler_address.data, "\xc0\x00\x02\x01", 4);
	assert_int_equal(m->etype, 0x800);
	assert_int_equal(m->proto, 6);
	assert_int_equal(m->dst_port, 443);
	assert_int_equal(m->in_if, 3);
	assert_int_equal(m->out_if, 4);
	assert_int_equal(m->src_as, 65001);
	assert_int_equal(m->dst_net, 24);
	assert_int_equal(m->observation_domain_id, 9);
	assert_int_equal(m->sampling_rate, 1);
	flowpb__flow_message__free_unpacked(m, NULL);

	mkrec(&r, 2);
	n = kafka_encode_protobuf(&r, buf, sizeof(buf));
	dl = delim(buf, n, &off);
	assert_int_equal(dl, n - off);
	m = flowpb__flow_message__unpack(NULL, n - off, buf + off);
	assert_non_null(m);
	assert_int_equal(m->src_addr.len, 16);
	assert_int_equal(m->etype, 0x86dd);
	assert_int_equal(m->icmp_type, 128);
	assert_int_equal(m->icmp_code, 0);
	flowpb__flow_message__free_unpacked(m, NULL);
	/* no room: 0, nothing written past cap */
	assert_int_equal(kafka_encode_protobuf(&r, buf, 10), 0);

	char js[1024];
	mkrec(&r, 0);
	assert_true(kafka_encode_json(&r, js, sizeof(js)) > 0);
	assert_non_null(strstr(js, "\"type\":\"IPFIX\""));
	assert_non_null(strstr(js, "\"src_addr\":\"10.0.0.1\""));
	assert_non_null(strstr(js, "\"etype\":\"IPv4\",\"proto\":\"TCP\""));
	assert_non_null(strstr(js, "\"dst_net\":\"10.0.0.2/24\""));
	r.f.key.proto = 47;
	assert_true(kafka_encode_json(&r, js, sizeof(js)) > 0);
	assert_non_null(strstr(js, "\"proto\":\"47\""));
	assert_int_equal(kafka_encode_json(&r, js, 50), 0);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct mock {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	char boot[256];
};

static void mock_start(struct mock *mk)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "2", err, sizeof(err));
	mk->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	assert_non_null(mk->rk);
	mk->mc = rd_kafka_mock_cluster_new(mk->rk, 1);
	assert_non_null(mk->mc);
	assert_int_equal(rd_kafka_mock_topic_create(mk->mc, "flows", 1, 1), 0);
	snprintf(mk->boot, sizeof(mk->boot), "%s", rd_kafka_mock_cluster_bootstraps(mk->mc));
}

static void mock_stop(struct mock *mk)
{
	rd_kafka_mock_cluster_destroy(mk->mc);
	rd_kafka_destroy(mk->rk);
}

/* tick s until written + dropped reaches n (or 15 s) */
static void settle(struct sink *s, uint64_t n)
{
	uint64_t t0 = now_us();
	while (s->st.written + s->st.dropped < n && now_us() - t0 < 15000000u) {
		sink_tick(s, 0);
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
}

static void test_mock_roundtrip(void **state)
{
	(void)state;
	struct mock mk;
	mock_start(&mk);
	char spec[512], err[512];
	snprintf(spec, sizeof(spec), "kafka:%s/flows", mk.boot);
	struct sink *s = sink_open(spec, err, sizeof(err));
	assert_non_null(s);
	enum { N = 300 };
	uint64_t packets = 0;
	for (unsigned i = 0; i < N; i++) {
		struct crec r;
		mkrec(&r, i);
		packets += r.f.packets;
		assert_int_equal(sink_write(s, &r), ERR_OK);
	}
	settle(s, N);
	assert_int_equal(s->st.records, N);
	assert_int_equal(s->st.written, N);
	assert_int_equal(s->st.dropped, 0);
	sink_close(s);

	/* read back with a consumer of our own */
	rd_kafka_conf_t *cc = rd_kafka_conf_new();
	rd_kafka_conf_set(cc, "bootstrap.servers", mk.boot, err, sizeof(err));
	rd_kafka_conf_set(cc, "group.id", "test_kafka", err, sizeof(err));
	rd_kafka_conf_set(cc, "enable.auto.commit", "false", err, sizeof(err));
	rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err));
	assert_non_null(c);
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, "flows", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(c, tp), 0);
	rd_kafka_topic_partition_list_destroy(tp);
	unsigned got = 0, v6 = 0;
	uint64_t gp = 0;
	uint64_t t0 = now_us();
	while (got < N && now_us() - t0 < 15000000u) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
		if (!m)
			continue;
		if (!m->err) {
			const uint8_t *p = m->payload;
			size_t off = 0;
			size_t dl = delim(p, m->len, &off);
			assert_int_equal(dl, m->len - off);
			assert_int_equal(m->key_len, 4);
			Flowpb__FlowMessage *f = flowpb__flow_message__unpack(NULL, m->len - off, p + off);
			assert_non_null(f);
			gp += f->packets;
			v6 += f->src_addr.len == 16;
			flowpb__flow_message__free_unpacked(f, NULL);
			got++;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	assert_int_equal(got, N);
	assert_int_equal(gp, packets);
	assert_int_equal(v6, N / 3);
	mock_stop(&mk);
}

static void test_broker_errors_counted(void **state)
{
	(void)state;
	struct mock mk;
	mock_start(&mk);
	char spec[512], err[512];
	/* the broker refuses every produce request with a non-retriable error */
	rd_kafka_resp_err_t errs[50];
	for (size_t i = 0; i < 50; i++)
		errs[i] = RD_KAFKA_RESP_ERR_INVALID_MSG;
	rd_kafka_mock_push_request_errors_array(mk.mc, 0 /* Produce */, 50, errs);
	snprintf(spec, sizeof(spec), "kafka:%s/flows?linger=0&timeout=5", mk.boot);
	struct sink *s = sink_open(spec, err, sizeof(err));
	assert_non_null(s);
	enum { N = 20 };
	for (unsigned i = 0; i < N; i++) {
		struct crec r;
		mkrec(&r, i);
		sink_write(s, &r);
	}
	settle(s, N);
	assert_int_equal(s->st.records, N);
	assert_int_equal(s->st.written + s->st.dropped, N);
	assert_true(s->st.dropped > 0);
	assert_true(s->st.errors > 0);
	assert_true(strlen(s->err) > 0);
	sink_close(s);
	mock_stop(&mk);
}

static void test_bad_spec(void **state)
{
	(void)state;
	char err[512];
	const char *bad[] = { "kafka:", "kafka:broker", "kafka:/topic", "kafka:b:9092/", "kafka:b:9092/to pic",
	                      "kafka:b:9092/t?format=xml", "kafka:b:9092/t?nope=1", "kafka:b:9092/t?queue",
	                      "kafka:b:9092/t?acks=x", "kafka:b:9092/t?timeout=-1", "kafka:b:9092/t?compression=rar",
	                      "kafka:b:9092/t?config=/nonexistent/file" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(sink_open(bad[i], err, sizeof(err)));
		assert_true(strlen(err) > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_mock_roundtrip),
		cmocka_unit_test(test_broker_errors_counted),
		cmocka_unit_test(test_bad_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
