/* sctp_show.c — "show ip sctp association list" and "show ip sctp
 * statistics" (IOS layouts): every association of the process, exporter
 * side (sctp.c) and collector side (sctp_listen.c), and the stack's own
 * counters (usrsctp_get_stat, RFC 3873 names). */
#include <stdio.h>
#include <string.h>

#include "transport/sctp.h"
#include "transport/sctpio.h"

static struct sctp_show_src *srcs;

void sctp_show_register(struct sctp_show_src *s)
{
	s->next = srcs;
	srcs = s;
}

void sctp_show_unregister(struct sctp_show_src *s)
{
	for (struct sctp_show_src **p = &srcs; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			return;
		}
}

#define MAX_LIST 64

static void export_rows(FILE *out, bool json, unsigned *n)
{
	struct transport *t[MAX_LIST];
	size_t k = sctpt_list(t, MAX_LIST);
	if (k > MAX_LIST)
		k = MAX_LIST;
	for (size_t i = 0; i < k; i++) {
		struct sctpt_info in;
		if (sctpt_info(t[i], &in) != 0)
			continue;
		bool up = strcmp(in.state, "connected") == 0;
		const char *state = up ? "ESTABLISHED" : strcmp(in.state, "connecting") == 0 ? "COOKIE-WAIT" : "CLOSED";
		if (json) {
			fprintf(out, "%s{\"assocId\":%u,\"role\":\"exporter\",\"state\":\"%s\",\"localPort\":%u,"
			             "\"localAddr\":\"%s\",\"remotePort\":%u,\"remoteAddr\":\"%s\",\"remoteUdpPort\":%u,"
			             "\"reliability\":\"%s\",\"outStreams\":%u,\"reachable\":%s,\"rtoMs\":%u,\"srttMs\":%u,"
			             "\"cwnd\":%u,\"peerRwnd\":%u,\"unackedBytes\":%ld,\"t3Timeouts\":%llu,"
			             "\"heartbeatTimeouts\":%llu}",
			        *n ? "," : "", in.assoc_id, state, in.local_sctp_port, in.local, in.port, in.peer,
			        in.udp_port, sctpt_rel_name(in.o->reliability), in.streams_out,
			        in.reachable ? "true" : "false", in.rto_ms, in.srtt_ms, in.cwnd, in.peer_rwnd,
			        in.unacked_bytes, (unsigned long long)in.t3_timeouts, (unsigned long long)in.hb_timeouts);
		} else {
			fprintf(out, "AssocID: %u, Instance ID: export to %s port %u\n", in.assoc_id, in.peer, in.port);
			fprintf(out, " Current state: %s%s\n", state,
			        up && !in.reachable ? " (path unreachable)" : "");
			fprintf(out, " Local port: %u, Addrs: %s (UDP)\n", in.local_sctp_port, in.local);
			fprintf(out, " Remote port: %u, Addrs: %s:%u (UDP)\n", in.port, in.peer, in.udp_port);
			if (up)
				fprintf(out, " Streams: %u out; RTO %u ms, SRTT %u ms, cwnd %u, peer rwnd %u, %ld bytes unacknowledged\n",
				        in.streams_out, in.rto_ms, in.srtt_ms, in.cwnd, in.peer_rwnd, in.unacked_bytes);
		}
		(*n)++;
	}
}

void sctp_show_associations(FILE *out, bool json)
{
	unsigned n = 0;
	if (json)
		fputs("{\"associations\":[", out);
	else
		fputs("** SCTP Association List **\n\n", out);
	export_rows(out, json, &n);
	for (struct sctp_show_src *s = srcs; s; s = s->next)
		s->rows(s->arg, out, json, &n);
	if (json)
		fputs("]}\n", out);
	else if (!n)
		fputs("No associations\n", out);
}

void sctp_show_statistics(FILE *out, bool json)
{
	struct sctpio_totals t;
	sctpio_totals(&t);
	/* our own counters on top of the stack's */
	uint64_t abandoned = 0, drops = 0, returned = 0;
	struct transport *tl[MAX_LIST];
	size_t k = sctpt_list(tl, MAX_LIST);
	for (size_t i = 0; i < k && i < MAX_LIST; i++) {
		struct sctpt_info in;
		if (sctpt_info(tl[i], &in) == 0) {
			abandoned += in.abandoned;
			drops += in.limit_drops;
			returned += in.returned;
		}
	}
#define U(x) ((unsigned long long)(x))
	if (json) {
		fprintf(out, "{\"controlChunksSent\":%llu,\"controlChunksReceived\":%llu,\"dataChunksSent\":%llu,"
		             "\"dataChunksRetransmitted\":%llu,\"fastRetransmits\":%llu,\"dataChunksSentOrdered\":%llu,"
		             "\"dataChunksSentUnordered\":%llu,\"dataChunksReceived\":%llu,\"duplicateDataChunks\":%llu,"
		             "\"dataChunksReceivedOrdered\":%llu,\"dataChunksReceivedUnordered\":%llu,"
		             "\"packetsSent\":%llu,\"packetsReceived\":%llu,\"sacksSent\":%llu,\"sacksReceived\":%llu,"
		             "\"heartbeatsSent\":%llu,\"heartbeatAcksReceived\":%llu,\"outOfTheBlue\":%llu,"
		             "\"checksumErrors\":%llu,\"associationsActive\":%llu,\"associationsPassive\":%llu,"
		             "\"associationsCurrent\":%llu,\"aborts\":%llu,\"shutdowns\":%llu,\"restarts\":%llu,"
		             "\"t3Timeouts\":%llu,\"t1Timeouts\":%llu,\"t2Timeouts\":%llu,\"heartbeatTimers\":%llu,"
		             "\"windowProbes\":%llu,\"udpSendErrors\":%llu,\"udpDropped\":%llu,"
		             "\"messagesAbandoned\":%llu,\"messagesDroppedBufferLimit\":%llu,\"messagesReturned\":%llu}\n",
		        U(t.ctrl_out), U(t.ctrl_in), U(t.data_out), U(t.data_retrans), U(t.fast_retrans),
		        U(t.data_out_ordered), U(t.data_out_unordered), U(t.data_in), U(t.dup_data_in),
		        U(t.data_in_ordered), U(t.data_in_unordered), U(t.pkts_out), U(t.pkts_in), U(t.sacks_out),
		        U(t.sacks_in), U(t.hb_out), U(t.hb_ack_in), U(t.ootb), U(t.checksum_errors),
		        U(t.assoc_active), U(t.assoc_passive), U(t.assoc_current), U(t.assoc_aborted),
		        U(t.assoc_shutdown), U(t.assoc_restart), U(t.t3_timeouts), U(t.t1_timeouts), U(t.t2_timeouts),
		        U(t.hb_timeouts), U(t.window_probes), U(t.link_tx_errors), U(t.rx_dropped), U(abandoned),
		        U(drops), U(returned));
		return;
	}
	fputs("** SCTP Overall Statistics **\n\n", out);
	fprintf(out, " Control Chunks\n   Sent: %llu\n   Rcvd: %llu\n\n", U(t.ctrl_out), U(t.ctrl_in));
	fprintf(out, " Data Chunks Sent\n   Total: %llu\n   Retransmitted: %llu (fast retransmit %llu)\n"
	             "   Ordered: %llu\n   Unordered: %llu\n\n",
	        U(t.data_out), U(t.data_retrans), U(t.fast_retrans), U(t.data_out_ordered), U(t.data_out_unordered));
	fprintf(out, " Data Chunks Rcvd\n   Total: %llu\n   Duplicates: %llu\n   Ordered: %llu\n   Unordered: %llu\n\n",
	        U(t.data_in), U(t.dup_data_in), U(t.data_in_ordered), U(t.data_in_unordered));
	fprintf(out, " Packets Sent: %llu, Rcvd: %llu\n SACKs Sent: %llu, Rcvd: %llu\n"
	             " Heartbeats Sent: %llu, Acks Rcvd: %llu\n",
	        U(t.pkts_out), U(t.pkts_in), U(t.sacks_out), U(t.sacks_in), U(t.hb_out), U(t.hb_ack_in));
	fprintf(out, " Out of Blue: %llu\n Checksum Errors: %llu\n\n", U(t.ootb), U(t.checksum_errors));
	fprintf(out, " Timer Expired\n   Retransmit: %llu\n   T1 (INIT): %llu\n   T2 (SHUTDOWN): %llu\n"
	             "   Heartbeat: %llu\n   Window Probes: %llu\n\n",
	        U(t.t3_timeouts), U(t.t1_timeouts), U(t.t2_timeouts), U(t.hb_timeouts), U(t.window_probes));
	fprintf(out, " Total Associations Established: %llu (active %llu, passive %llu), current %llu\n",
	        U(t.assoc_active + t.assoc_passive), U(t.assoc_active), U(t.assoc_passive), U(t.assoc_current));
	fprintf(out, " Aborts: %llu, Shutdowns: %llu, Restarts: %llu\n", U(t.assoc_aborted), U(t.assoc_shutdown),
	        U(t.assoc_restart));
	fprintf(out, " Export messages abandoned (FORWARD-TSN): %llu, dropped by buffer limit: %llu, "
	             "handed back on association loss: %llu\n", U(abandoned), U(drops), U(returned));
	fprintf(out, " UDP encapsulation: %llu send errors, %llu datagrams dropped\n", U(t.link_tx_errors),
	        U(t.rx_dropped));
#undef U
}
