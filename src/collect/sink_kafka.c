/* sink_kafka.c — -o kafka:BROKER[,BROKER...]/TOPIC[?opts]
 *
 * One Kafka message per record, in goflow2's FlowMessage (flow.proto):
 * format=protobuf (default) writes a varint length and the encoded
 * message (length-delimited, as goflow2 v2 and Akvorado read);
 * format=json writes goflow2's JSON rendering. The key is the exporter's
 * address, so one exporter's records stay in one partition, in order.
 *
 * librdkafka batches, retries and reports each message's fate through the
 * delivery report callback, run by rd_kafka_poll() from write() and
 * tick() in the collector's thread (no locks). Nothing is lost silently:
 *   written = messages the broker acknowledged,
 *   dropped = refused at produce (librdkafka's queue, bounded by queue=
 *             messages, is full; or another produce error)
 *           + failed delivery after librdkafka's retries (timeout=)
 *           + still undelivered after close_timeout= at close.
 * write() never blocks: a full queue is a counted drop.
 *
 * Options: format=protobuf|json, queue=N (100000), timeout=SEC (300:
 * librdkafka's message.timeout.ms), acks=all|1|0 (all), compression=
 * none|gzip|snappy|lz4|zstd (none), linger=MS (5), close_timeout=SEC (10),
 * config=FILE (librdkafka properties, "key=value" a line: TLS, SASL —
 * credentials live there, never on the command line). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/flow.pb-c.h"
#include "collect/sink.h"
#include "lib/err.h"
#include "lib/log.h"

extern const struct sink_ops sink_kafka_ops;

enum { KF_PROTOBUF, KF_JSON };

struct sink_kafka {
	struct sink base;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	char topic[256];
	char brokers[1024];
	int format;
	unsigned close_ms;
	uint64_t delivered, failed, queue_full, produce_err, left_at_close;
	uint64_t bytes;
	unsigned since_poll;
	char last_err[200];
};

/* ------------------------------------------------------------ encoding */

static size_t addr_bytes(const uint8_t *a, unsigned af, const uint8_t **p)
{
	*p = a;
	return af == 6 ? 16 : 4;
}

static Flowpb__FlowMessage__FlowType flow_type(uint16_t version)
{
	switch (version) {
	case 5: return FLOWPB__FLOW_MESSAGE__FLOW_TYPE__NETFLOW_V5;
	case 9: return FLOWPB__FLOW_MESSAGE__FLOW_TYPE__NETFLOW_V9;
	case 10: return FLOWPB__FLOW_MESSAGE__FLOW_TYPE__IPFIX;
	default: return FLOWPB__FLOW_MESSAGE__FLOW_TYPE__FLOWUNKNOWN;
	}
}

static int is_icmp(const struct flowrec *f)
{
	return f->key.proto == 1 || f->key.proto == 58;
}

/* Fill m from r; address fields point into r. */
static void to_msg(Flowpb__FlowMessage *m, const struct crec *r)
{
	const struct flowrec *f = &r->f;
	unsigned af = f->key.af == 6 ? 6 : 4;
	const uint8_t *p;
	flowpb__flow_message__init(m);
	m->type = flow_type(r->version);
	m->time_received_ns = r->recv_us * 1000u;
	m->sampling_rate = r->sampling;
	m->sampler_address.len = addr_bytes(r->exporter, r->exporter_af == 6 ? 6 : 4, &p);
	m->sampler_address.data = (uint8_t *)(uintptr_t)p;
	m->time_flow_start_ns = f->first_us * 1000u;
	m->time_flow_end_ns = f->last_us * 1000u;
	m->bytes = f->bytes;
	m->packets = f->packets;
	m->src_addr.len = addr_bytes(f->key.src, af, &p);
	m->src_addr.data = (uint8_t *)(uintptr_t)p;
	m->dst_addr.len = addr_bytes(f->key.dst, af, &p);
	m->dst_addr.data = (uint8_t *)(uintptr_t)p;
	m->next_hop.len = addr_bytes(f->nexthop, af, &p);
	m->next_hop.data = (uint8_t *)(uintptr_t)p;
	m->etype = af == 6 ? 0x86dd : 0x800;
	m->proto = f->key.proto;
	m->src_port = f->key.sport;
	m->dst_port = f->key.dport;
	if (is_icmp(f)) {
		m->icmp_type = f->key.dport >> 8;
		m->icmp_code = f->key.dport & 0xff;
	}
	m->in_if = f->key.ifindex;
	m->out_if = f->if_out;
	m->ip_tos = f->key.tos;
	m->tcp_flags = f->tcp_flags;
	m->src_as = f->src_as;
	m->dst_as = f->dst_as;
	m->src_net = f->src_mask;
	m->dst_net = f->dst_mask;
	m->observation_domain_id = r->domain;
}

/* varint length + message into out (cap bytes). Length, or 0 if it does
 * not fit. */
size_t kafka_encode_protobuf(const struct crec *r, uint8_t *out, size_t cap);
size_t kafka_encode_protobuf(const struct crec *r, uint8_t *out, size_t cap)
{
	Flowpb__FlowMessage m;
	to_msg(&m, r);
	size_t n = flowpb__flow_message__get_packed_size(&m);
	uint8_t pre[10];
	size_t k = 0;
	for (size_t v = n;; v >>= 7) {
		pre[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		if (v <= 0x7f)
			break;
	}
	if (k + n > cap)
		return 0;
	memcpy(out, pre, k);
	flowpb__flow_message__pack(&m, out + k);
	return k + n;
}

static const char *const type_name[] = { "FLOWUNKNOWN", "SFLOW_5", "NETFLOW_V5", "NETFLOW_V9", "IPFIX" };

static const char *proto_name(unsigned p, char *buf, size_t len)
{
	static const struct {
		unsigned num;
		const char *name;
	} names[] = { { 1, "ICMP" }, { 6, "TCP" }, { 17, "UDP" }, { 58, "ICMPv6" }, { 132, "SCTP" } };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].num == p)
			return names[i].name;
	snprintf(buf, len, "%u", p);
	return buf;
}

static void addr_text(const uint8_t *a, unsigned af, char *out, size_t len)
{
	if (!inet_ntop(af == 6 ? AF_INET6 : AF_INET, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

/* goflow2's JSON rendering of one record into out. Length, or 0 if it
 * does not fit. */
size_t kafka_encode_json(const struct crec *r, char *out, size_t cap);
size_t kafka_encode_json(const struct crec *r, char *out, size_t cap)
{
	Flowpb__FlowMessage m;
	to_msg(&m, r);
	const struct flowrec *f = &r->f;
	unsigned af = f->key.af == 6 ? 6 : 4;
	char samp[64], src[64], dst[64], nh[64], pbuf[16];
	addr_text(r->exporter, r->exporter_af == 6 ? 6 : 4, samp, sizeof(samp));
	addr_text(f->key.src, af, src, sizeof(src));
	addr_text(f->key.dst, af, dst, sizeof(dst));
	addr_text(f->nexthop, af, nh, sizeof(nh));
	int n = snprintf(out, cap,
	                 "{\"type\":\"%s\",\"time_received_ns\":%" PRIu64 ",\"sequence_num\":0,\"sampling_rate\":%" PRIu64
	                 ",\"sampler_address\":\"%s\",\"time_flow_start_ns\":%" PRIu64 ",\"time_flow_end_ns\":%" PRIu64
	                 ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"src_addr\":\"%s\",\"dst_addr\":\"%s\","
	                 "\"etype\":\"%s\",\"proto\":\"%s\",\"src_port\":%u,\"dst_port\":%u,\"in_if\":%u,\"out_if\":%u,"
	                 "\"ip_tos\":%u,\"tcp_flags\":%u,\"icmp_type\":%u,\"icmp_code\":%u,\"src_as\":%u,\"dst_as\":%u,"
	                 "\"next_hop\":\"%s\",\"src_net\":\"%s/%u\",\"dst_net\":\"%s/%u\",\"observation_domain_id\":%u}",
	                 type_name[m.type], m.time_received_ns, m.sampling_rate, samp, m.time_flow_start_ns,
	                 m.time_flow_end_ns, m.bytes, m.packets, src, dst, af == 6 ? "IPv6" : "IPv4",
	                 proto_name(m.proto, pbuf, sizeof(pbuf)), m.src_port, m.dst_port, m.in_if, m.out_if, m.ip_tos,
	                 m.tcp_flags, m.icmp_type, m.icmp_code, m.src_as, m.dst_as, nh, src, m.src_net, dst, m.dst_net,
	                 m.observation_domain_id);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---------------------------------------------------------------- sink */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	struct sink_kafka *s = opaque;
	(void)rk;
	if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		s->delivered++;
		return;
	}
	s->failed++;
	snprintf(s->last_err, sizeof(s->last_err), "delivery: %s", rd_kafka_err2str(msg->err));
	if (log_level_cur >= LOG_LVL_WARN) {
		static struct log_rl rl;
		if (log_ratelimit(&rl))
			log_warn("kafka %s/%s: %s", s->brokers, s->topic, s->last_err);
	}
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct sink_kafka *s = opaque;
	(void)rk;
	(void)err;
	snprintf(s->last_err, sizeof(s->last_err), "%s", reason);
	if (log_level_cur >= LOG_LVL_WARN) {
		static struct log_rl rl;
		if (log_ratelimit(&rl))
			log_warn("kafka %s: %s", s->brokers, reason);
	}
}

static void refresh(struct sink_kafka *s)
{
	s->base.st.written = s->delivered;
	s->base.st.dropped = s->queue_full + s->produce_err + s->failed + s->left_at_close;
	s->base.st.errors = s->produce_err + s->failed;
	snprintf(s->base.err, sizeof(s->base.err), "%s", s->last_err);
}

static int kf_write(struct sink *sk, const struct crec *r)
{
	struct sink_kafka *s = (struct sink_kafka *)sk;
	uint8_t buf[1024];
	size_t n = s->format == KF_JSON ? kafka_encode_json(r, (char *)buf, sizeof(buf))
	                                : kafka_encode_protobuf(r, buf, sizeof(buf));
	s->base.st.records++;
	if (n == 0) {
		s->produce_err++;
		return ERR_NOSPACE;
	}
	const uint8_t *key;
	size_t klen = addr_bytes(r->exporter, r->exporter_af == 6 ? 6 : 4, &key);
	int rc = ERR_OK;
	if (rd_kafka_produce(s->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf, n, key, klen, NULL) != 0) {
		rd_kafka_resp_err_t e = rd_kafka_last_error();
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			s->queue_full++;
		else
			s->produce_err++;
		snprintf(s->last_err, sizeof(s->last_err), "produce: %s", rd_kafka_err2str(e));
		rc = ERR_FULL;
	} else {
		s->bytes += n;
	}
	if (++s->since_poll >= 256 || rc) {
		rd_kafka_poll(s->rk, 0);
		s->since_poll = 0;
	}
	return rc;
}

static void kf_tick(struct sink *sk, uint64_t now_us)
{
	struct sink_kafka *s = (struct sink_kafka *)sk;
	(void)now_us;
	rd_kafka_poll(s->rk, 0);
	refresh(s);
}

static void kf_free(struct sink_kafka *s)
{
	if (s->rkt)
		rd_kafka_topic_destroy(s->rkt);
	if (s->rk)
		rd_kafka_destroy(s->rk);
	free(s);
}

static void kf_close(struct sink *sk)
{
	struct sink_kafka *s = (struct sink_kafka *)sk;
	rd_kafka_flush(s->rk, (int)s->close_ms);
	rd_kafka_poll(s->rk, 0);
	int left = rd_kafka_outq_len(s->rk);
	if (left > 0) {
		/* not yet delivered nor failed: purge them (their reports then
		 * come back as failures) and count what is still left */
		rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(s->rk, 0);
		uint64_t before = s->failed;
		rd_kafka_flush(s->rk, 1000);
		(void)before;
		left = rd_kafka_outq_len(s->rk);
		if (left > 0)
			s->left_at_close = (uint64_t)left;
	}
	refresh(s);
	log_note("kafka sink %s/%s closed: records taken=%" PRIu64 " written=%" PRIu64 " dropped=%" PRIu64
	         " queue_full=%" PRIu64 " failed=%" PRIu64 " produce_errors=%" PRIu64 " left=%" PRIu64,
	         s->brokers, s->topic, s->base.st.records, s->delivered, s->base.st.dropped, s->queue_full, s->failed,
	         s->produce_err, s->left_at_close);
	kf_free(s);
}

static void kf_show(const struct sink *sk, FILE *out)
{
	const struct sink_kafka *s = (const struct sink_kafka *)sk;
	fprintf(out, "Kafka sink %s/%s (%s)\n", s->brokers, s->topic, s->format == KF_JSON ? "json" : "protobuf");
	fprintf(out, "  records: %" PRIu64 " taken, %" PRIu64 " delivered, %d in flight, %" PRIu64 " bytes\n",
	        s->base.st.records, s->delivered, rd_kafka_outq_len(s->rk), s->bytes);
	fprintf(out, "  dropped: %" PRIu64 " queue full, %" PRIu64 " produce error, %" PRIu64 " delivery failed\n",
	        s->queue_full, s->produce_err, s->failed);
	if (s->last_err[0])
		fprintf(out, "  last error: %s\n", s->last_err);
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v, char *err, size_t errlen)
{
	char e[256];
	if (rd_kafka_conf_set(c, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "kafka: %s=%s: %s", k, v, e);
		return -1;
	}
	return 0;
}

static int conf_file(rd_kafka_conf_t *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "kafka config %s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq) {
			snprintf(err, errlen, "kafka config %s:%d: expected key=value", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		rc = conf_set(c, line, eq + 1, err, errlen);
	}
	fclose(f);
	return rc;
}

/* Options: key, librdkafka property it sets (NULL: the sink's own). */
static const struct {
	const char *key;
	const char *prop;
} kf_opts[] = {
	{ "format", NULL },
	{ "queue", "queue.buffering.max.messages" },
	{ "timeout", "message.timeout.ms" },
	{ "acks", "acks" },
	{ "compression", "compression.codec" },
	{ "linger", "linger.ms" },
	{ "close_timeout", NULL },
	{ "config", NULL },
};

static struct sink *kf_open(const char *rest, char *err, size_t errlen)
{
	char spec[2048];
	rd_kafka_conf_t *conf = NULL;
	struct sink_kafka *s = NULL;
	if (strlen(rest) >= sizeof(spec)) {
		snprintf(err, errlen, "kafka: spec too long");
		return NULL;
	}
	strcpy(spec, rest);
	char *q = strchr(spec, '?');
	if (q)
		*q++ = '\0';
	char *slash = strrchr(spec, '/');
	if (!slash || slash == spec || !slash[1]) {
		snprintf(err, errlen, "kafka `%s': expected BROKER[,BROKER...]/TOPIC", rest);
		return NULL;
	}
	*slash = '\0';
	const char *topic = slash + 1;
	for (const char *t = topic; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || *t == '.' ||
		      *t == '_' || *t == '-') || strlen(topic) > 249) {
			snprintf(err, errlen, "kafka topic `%s': letters, digits, '.', '_' and '-' only", topic);
			return NULL;
		}
	s = calloc(1, sizeof(*s));
	conf = rd_kafka_conf_new();
	if (!s || !conf) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	snprintf(s->brokers, sizeof(s->brokers), "%s", spec);
	s->close_ms = 10000;
	if (conf_set(conf, "bootstrap.servers", spec, err, errlen) || conf_set(conf, "linger.ms", "5", err, errlen) ||
	    conf_set(conf, "queue.buffering.max.messages", "100000", err, errlen) ||
	    conf_set(conf, "message.timeout.ms", "300000", err, errlen) || conf_set(conf, "acks", "all", err, errlen))
		goto fail;
	char *save = NULL;
	for (char *kv = q ? strtok_r(q, "&", &save) : NULL; kv; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			snprintf(err, errlen, "kafka option `%s': expected KEY=VALUE", kv);
			goto fail;
		}
		*eq = '\0';
		const char *v = eq + 1;
		size_t i;
		for (i = 0; i < sizeof(kf_opts) / sizeof(kf_opts[0]); i++)
			if (strcmp(kf_opts[i].key, kv) == 0)
				break;
		if (i == sizeof(kf_opts) / sizeof(kf_opts[0])) {
			snprintf(err, errlen, "kafka option `%s' is unknown (format, queue, timeout, acks, compression, "
			                      "linger, close_timeout, config)", kv);
			goto fail;
		}
		if (strcmp(kv, "format") == 0) {
			if (strcmp(v, "protobuf") == 0)
				s->format = KF_PROTOBUF;
			else if (strcmp(v, "json") == 0)
				s->format = KF_JSON;
			else {
				snprintf(err, errlen, "kafka format=%s: protobuf or json", v);
				goto fail;
			}
		} else if (strcmp(kv, "close_timeout") == 0 || strcmp(kv, "timeout") == 0) {
			char *end;
			double d = strtod(v, &end);
			if (end == v || *end || d < 0 || d > 86400) {
				snprintf(err, errlen, "kafka %s=%s: seconds", kv, v);
				goto fail;
			}
			if (kv[0] == 'c') {
				s->close_ms = (unsigned)(d * 1000);
			} else {
				char ms[32];
				snprintf(ms, sizeof(ms), "%u", (unsigned)(d * 1000));
				if (conf_set(conf, kf_opts[i].prop, ms, err, errlen))
					goto fail;
			}
		} else if (strcmp(kv, "config") == 0) {
			if (conf_file(conf, v, err, errlen))
				goto fail;
		} else if (conf_set(conf, kf_opts[i].prop, v, err, errlen)) {
			goto fail;
		}
	}
	rd_kafka_conf_set_opaque(conf, s);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	char e[512];
	s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
	if (!s->rk) {
		snprintf(err, errlen, "kafka: %s", e);
		goto fail;
	}
	conf = NULL; /* owned by rk now */
	s->rkt = rd_kafka_topic_new(s->rk, s->topic, NULL);
	if (!s->rkt) {
		snprintf(err, errlen, "kafka topic %s: %s", s->topic, rd_kafka_err2str(rd_kafka_last_error()));
		goto fail;
	}
	s->base.ops = &sink_kafka_ops;
	return &s->base;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (s)
		kf_free(s);
	return NULL;
}

const struct sink_ops sink_kafka_ops = {
	.scheme = "kafka",
	.open = kf_open,
	.write = kf_write,
	.tick = kf_tick,
	.close = kf_close,
	.show = kf_show,
};
