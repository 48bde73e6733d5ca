/* test_export_pcap.c — wraps exporter output in a pcap file for
 * independent decoders (tshark, libfixbuf's ipfixDump).
 *
 *   test_export_pcap DIR   writes DIR/{v5,v9,ipfix,ipfix_us}.pcap (each message a
 *                          UDP/2055 datagram over Ethernet/IPv4) and
 *                          DIR/ipfix.ipfix (an RFC 5655 IPFIX File); used by
 *                          tests/e2e/test_export_tshark.sh
 *   test_export_pcap       (ctest) checks the pcap writer by reading its
 *                          output back with libpcap */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "export_fixture.h"

/* Tiny pcap writer: classic format, LINKTYPE_ETHERNET, host byte order. */
static void pcap_hdr(FILE *f)
{
	uint32_t magic = 0xa1b2c3d4, snap = 65535, link = 1, zero = 0;
	uint16_t major = 2, minor = 4;
	fwrite(&magic, 4, 1, f);
	fwrite(&major, 2, 1, f);
	fwrite(&minor, 2, 1, f);
	fwrite(&zero, 4, 1, f);
	fwrite(&zero, 4, 1, f);
	fwrite(&snap, 4, 1, f);
	fwrite(&link, 4, 1, f);
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void pcap_udp(FILE *f, uint64_t ts_us, const uint8_t *payload, size_t len)
{
	static uint8_t frame[65536];
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	size_t iplen = 20 + 8 + len;
	uint8_t *ip = frame + 14, *udp = ip + 20;
	memcpy(frame, eth, 14);
	memset(ip, 0, 28);
	ip[0] = 0x45;
	poke_u16(ip + 2, (uint16_t)iplen);
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 127, ip[15] = 1;           /* 127.0.0.1 */
	ip[16] = 127, ip[19] = 2;           /* 127.0.0.2 */
	poke_u16(ip + 10, ip_csum(ip, 20));
	poke_u16(udp, 40000);
	poke_u16(udp + 2, 2055);
	poke_u16(udp + 4, (uint16_t)(8 + len)); /* checksum 0: none (IPv4) */
	memcpy(udp + 8, payload, len);
	uint32_t rec[4] = { (uint32_t)(ts_us / 1000000), (uint32_t)(ts_us % 1000000),
	                    (uint32_t)(14 + iplen), (uint32_t)(14 + iplen) };
	fwrite(rec, 4, 4, f);
	fwrite(frame, 1, 14 + iplen, f);
}

/* Encode n records (mixed families where the format allows) with
 * export-stats on for v9/IPFIX; the messages stay in tp. */
static void encode(struct memtp *tp, int version, unsigned flags, unsigned n)
{
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, version);
	cfg.start_us = T0;
	cfg.domain = 7;
	cfg.flags = flags;
	cfg.export_stats = version >= 9;
	cfg.opt_refresh_pkts = version >= 9 ? 2 : 0;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	assert(ex);
	struct flowrec r;
	for (unsigned i = 0; i < n; i++) {
		fx_rec(&r, version >= 9 && i % 2 ? 6 : 4, i);
		if (i % 7 == 3) { /* some ICMP echo requests */
			r.key.proto = version >= 9 && i % 2 ? 58 : 1;
			r.key.sport = 0;
			r.key.dport = r.key.proto == 1 ? 8 << 8 : 128 << 8;
		}
		exporter_add(ex, &r, T0 + 60000000);
	}
	exporter_flush(ex, T0 + 60000000);
	exporter_free(ex);
}

static int write_pcap(const char *path, struct memtp *tp)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	pcap_hdr(f);
	for (size_t i = 0; i < tp->n; i++)
		pcap_udp(f, T0 + 60000000 + i, tp->msg[i].p, tp->msg[i].len);
	return fclose(f);
}

static int write_all(const char *dir)
{
	static const struct { int version; unsigned flags; const char *name; } out[] = {
		{ 5, 0, "v5.pcap" }, { 9, 0, "v9.pcap" }, { 10, 0, "ipfix.pcap" },
		{ 10, EXPORTER_F_TIME_US, "ipfix_us.pcap" },
	};
	char path[4096];
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		struct memtp *tp = memtp_new(28);
		encode(tp, out[i].version, out[i].flags, 100);
		snprintf(path, sizeof(path), "%s/%s", dir, out[i].name);
		int rc = write_pcap(path, tp);
		if (rc == 0 && out[i].version == 10 && !out[i].flags) { /* and an IPFIX File */
			snprintf(path, sizeof(path), "%s/ipfix.ipfix", dir);
			FILE *f = fopen(path, "wb");
			for (size_t m = 0; f && m < tp->n; m++)
				fwrite(tp->msg[m].p, 1, tp->msg[m].len, f);
			rc = f ? fclose(f) : -1;
		}
		transport_close(&tp->base);
		if (rc != 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

static void test_pcap_readback(void **state)
{
	(void)state;
	char path[] = "/tmp/ipflow_pcap_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct memtp *tp = memtp_new(28);
	encode(tp, 9, 0, 100);
	assert_int_equal(write_pcap(path, tp), 0);
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	assert_non_null(p);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	struct pcap_pkthdr *h;
	const u_char *data;
	size_t n = 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		assert_true(n < tp->n);
		assert_int_equal(h->caplen, 42 + tp->msg[n].len);
		assert_memory_equal(data + 42, tp->msg[n].p, tp->msg[n].len);
		assert_int_equal(ip_csum(data + 14, 20), 0);
		n++;
	}
	assert_int_equal(n, tp->n);
	pcap_close(p);
	unlink(path);
	transport_close(&tp->base);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return write_all(argv[1]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_readback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
