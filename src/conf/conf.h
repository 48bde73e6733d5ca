/* conf.h — the IOS-style configuration (ipflow.conf(5)): the model, a
 * streaming parser that fills it, validation with the router's messages,
 * and a writer that prints it as `show running-config`.
 *
 * Parsing is line at a time, the same entry points for a file, for lines
 * made from command-line flags and for the fuzzer (WireGuard tools'
 * config_read_init/line/finish):
 *
 *   struct conf_parser *p = conf_parser_new(report, arg);
 *   conf_parser_source(p, "ipflow.conf", 0);
 *   while (getline(...)) conf_parse_line(p, line, len);
 *   struct conf *c = conf_parser_finish(p);    // NULL if any error; frees p
 *
 * Grammar (IOS): words separated by blanks; `!` starts a comment line;
 * keywords may be abbreviated to any unambiguous prefix; `no CMD` resets
 * or removes; indentation is cosmetic, as on a router: a command that
 * the current sub-mode does not know is tried in the enclosing modes.
 * Sub-modes: `interface`, `ip flow-aggregation cache`, `flow record |
 * exporter | monitor`, `sampler`, and the SCTP destination sub-mode
 * entered by `ip flow-export destination H P sctp` (and `export
 * destination H P sctp` in an aggregation cache) — `reliability` and
 * `backup ...` attach to the last destination entered.
 *
 * Every diagnostic names the source, line, column and offending word and
 * says what was expected. Errors do not stop parsing (all are reported);
 * any error makes finish return NULL, so a running configuration is only
 * ever replaced by a whole valid one.
 *
 * Router commands that mean nothing on a Linux host (`ip address`,
 * `hostname`, `router ospf` blocks, `banner`, ...) are accepted with a
 * one-line note so a pasted router configuration loads.
 *
 * Ranges: each number has the router's range and ipflow's (wider where a
 * host can do more, e.g. short timeouts for labs): outside ipflow's is an
 * error, outside only the router's a warning (not for flag-made lines).
 *
 * Memory: the model is one fixed-size struct (arrays with the limits
 * below); nothing is allocated per line. Not thread-safe. */
#ifndef IPFLOW_CONF_H
#define IPFLOW_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_NAME_MAX 64     /* names of records, monitors, interfaces ... (with NUL) */
#define CONF_HOST_MAX 256
#define CONF_PATH_MAX 512
#define CONF_TEXT_MAX 256    /* description, capture filter */
#define CONF_DEST_MAX 2      /* network destinations per cache, as on a router */
#define CONF_FILE_MAX 4      /* file outputs per cache (ipflow extension) */
#define CONF_AGG_MAX 12      /* one cache per aggregation scheme */
#define CONF_FIELDS_MAX 48   /* match + collect fields of a flow record */
#define CONF_RECORD_MAX 16
#define CONF_EXPORTER_MAX 16
#define CONF_MONITOR_MAX 16
#define CONF_MON_EXPORTERS 8 /* exporters per monitor */
#define CONF_SAMPLER_MAX 16
#define CONF_IFACE_MAX 32
#define CONF_IF_MONITOR_MAX 8
#define CONF_ALIAS_MAX 32
#define CONF_LINE_MAX 4096   /* longer lines are an error */

/* --- export destinations ------------------------------------------------ */

enum conf_proto { CONF_UDP = 0, CONF_SCTP, CONF_TCP };
enum conf_rel { CONF_REL_FULL = 0, CONF_REL_PARTIAL, CONF_REL_NONE };
enum conf_backup_mode { CONF_BACKUP_FAILOVER = 0, CONF_BACKUP_REDUNDANT };

#define CONF_SCTP_BUFLIMIT_MAX 35000u
#define CONF_SCTP_FAILOVER_DEFAULT_MS 25u
#define CONF_SCTP_RESTORE_DEFAULT_S 25u

/* Per-destination SCTP settings (NetFlow Reliable Export): the plain
 * struct the SCTP destination manager takes (see apply.h). */
struct conf_sctp {
	enum conf_rel reliability;          /* default full */
	uint32_t buffer_limit;              /* partial: 1..35000 */
	bool backup;                        /* a backup destination is set */
	char backup_host[CONF_HOST_MAX];
	uint16_t backup_port;
	enum conf_backup_mode backup_mode;  /* default fail-over */
	uint32_t failover_ms;               /* 0..3600, default 25 */
	uint32_t restore_s;                 /* 0..3600, default 25 */
};

struct conf_dest {
	enum conf_proto proto;
	char host[CONF_HOST_MAX];           /* address or name, as written */
	uint16_t port;
	struct conf_sctp sctp;              /* meaningful for CONF_SCTP */
};

/* `ip flow-export version 5|9 origin-as|peer-as bgp-nexthop` */
enum { CONF_VOPT_ORIGIN_AS = 1, CONF_VOPT_PEER_AS = 2, CONF_VOPT_BGP_NEXTHOP = 4 };

/* Which optional export fields were given (defaults come from the version). */
enum {
	CONF_EX_VERSION = 1 << 0, CONF_EX_TREFRESH = 1 << 1, CONF_EX_TTIMEOUT = 1 << 2,
	CONF_EX_OREFRESH = 1 << 3, CONF_EX_OTIMEOUT = 1 << 4, CONF_EX_MTU = 1 << 5,
	CONF_EX_SOURCE_ID = 1 << 6, CONF_EX_ENGINE_TYPE = 1 << 7, CONF_EX_ENGINE_ID = 1 << 8,
	CONF_EX_FLUSH = 1 << 9, CONF_EX_SOURCE = 1 << 10,
};

/* The export settings of one cache (main or aggregation). */
struct conf_export {
	unsigned set;                       /* CONF_EX_* given */
	int version;                        /* 1, 5, 7, 9, 10 (IPFIX); aggregation 8 or 9 */
	unsigned vopts;                     /* CONF_VOPT_* */
	struct conf_dest dest[CONF_DEST_MAX];
	size_t ndest;
	char file[CONF_FILE_MAX][CONF_PATH_MAX]; /* ipflow: file outputs */
	size_t nfile;
	char source[CONF_NAME_MAX];         /* ip flow-export source ADDR|IFACE */
	uint32_t tmpl_refresh;              /* template refresh-rate, packets */
	uint32_t tmpl_timeout_min;          /* template timeout-rate, minutes */
	bool opt_export_stats;              /* template options export-stats */
	bool opt_sampler;                   /* template options sampler */
	uint32_t opt_refresh;
	uint32_t opt_timeout_min;
	/* ipflow extensions */
	uint32_t mtu, source_id, engine_type, engine_id, flush_ms;
	bool usec;                          /* IPFIX microsecond timestamps */
	bool interface_names;               /* ip flow-export interface-names (accepted) */
};

/* --- caches --------------------------------------------------------------- */

enum conf_cache_type { CONF_CACHE_NORMAL = 0, CONF_CACHE_PERMANENT, CONF_CACHE_IMMEDIATE };
enum { CONF_C_ENTRIES = 1, CONF_C_ACTIVE = 2, CONF_C_INACTIVE = 4, CONF_C_TYPE = 8, CONF_C_UPDATE = 16 };

struct conf_cache {
	unsigned set;                       /* CONF_C_* given */
	uint32_t entries;
	uint32_t active_s;
	uint32_t inactive_s;
	uint32_t update_s;                  /* flow monitor: permanent cache update timeout */
	enum conf_cache_type type;
};

/* The twelve IOS aggregation schemes, in the router's order. */
enum conf_agg_scheme {
	CONF_AGG_AS = 0, CONF_AGG_AS_TOS, CONF_AGG_BGP_NEXTHOP_TOS, CONF_AGG_DST_PREFIX,
	CONF_AGG_DST_PREFIX_TOS, CONF_AGG_PREFIX, CONF_AGG_PREFIX_PORT, CONF_AGG_PREFIX_TOS,
	CONF_AGG_PROTOCOL_PORT, CONF_AGG_PROTOCOL_PORT_TOS, CONF_AGG_SRC_PREFIX,
	CONF_AGG_SRC_PREFIX_TOS, CONF_AGG_SCHEME_MAX
};
extern const char *const conf_agg_scheme_name[CONF_AGG_SCHEME_MAX];

struct conf_agg {
	enum conf_agg_scheme scheme;
	bool enabled;
	struct conf_cache cache;
	struct conf_export export;          /* version 8 (default) or 9 */
	uint8_t mask_src_min;               /* mask source minimum, 0 = not set */
	uint8_t mask_dst_min;
};

/* --- Flexible NetFlow ---------------------------------------------------- */

/* A field of `match` / `collect`: an index into conf_field_table. */
struct conf_field_def {
	const char *words;                  /* "ipv4 source address" */
	uint16_t ie;                        /* IPFIX Information Element id */
	bool key_ok;                        /* may be a match (key) field */
};
extern const struct conf_field_def conf_field_table[];
extern const size_t conf_field_count;

/* `ipflow bucket ttl | packet-length` in a flow record: report TTL / hop
 * limit and total length by the Catalyst FNF value maps instead of the
 * exact value (ipflow extension; exact by default). */
enum { CONF_REC_BUCKET_TTL = 1, CONF_REC_BUCKET_LEN = 2 };

struct conf_record {
	char name[CONF_NAME_MAX];
	char description[CONF_TEXT_MAX];
	unsigned options;                   /* CONF_REC_* */
	uint16_t match[CONF_FIELDS_MAX];    /* conf_field_table indexes, in order */
	size_t nmatch;
	uint16_t collect[CONF_FIELDS_MAX];
	size_t ncollect;
};

/* Built-in records a monitor may name instead of a `flow record`. */
#define CONF_RECORD_NETFLOW_ORIGINAL "netflow-original"
#define CONF_RECORD_NETFLOW_IPV4_ORIG_IN "netflow ipv4 original-input"
#define CONF_RECORD_NETFLOW_IPV4_ORIG_OUT "netflow ipv4 original-output"
#define CONF_RECORD_NETFLOW_IPV6_ORIG_IN "netflow ipv6 original-input"
#define CONF_RECORD_NETFLOW_IPV6_ORIG_OUT "netflow ipv6 original-output"
/* IPFIX packet-section export (IE 315 dataLinkFrameSection), the IOS XR
 * record name: a monitor with it exports each sampled packet's first
 * bytes, one record a packet (immediate cache). */
#define CONF_RECORD_PACKET_SECTION "datalinksectiondump"

enum conf_fnf_proto { CONF_FNF_V9 = 0, CONF_FNF_V5, CONF_FNF_IPFIX };
enum { CONF_OPT_EXPORTER_STATS = 1, CONF_OPT_INTERFACE_TABLE = 2, CONF_OPT_SAMPLER_TABLE = 4,
       CONF_OPT_APPLICATION_TABLE = 8, CONF_OPT_MAX_ = 4 };

struct conf_exporter {
	char name[CONF_NAME_MAX];
	char description[CONF_TEXT_MAX];
	char destination[CONF_HOST_MAX];    /* "" = none yet */
	char source[CONF_NAME_MAX];         /* source INTERFACE */
	enum conf_proto transport;          /* default udp */
	uint16_t port;                      /* default 9995 */
	enum conf_fnf_proto protocol;       /* export-protocol, default netflow-v9 */
	uint32_t template_timeout_s;        /* template data timeout, default 600 */
	unsigned options;                   /* CONF_OPT_* */
	uint32_t option_timeout_s[CONF_OPT_MAX_]; /* per option, default 600 */
	uint8_t dscp;                       /* 0..63 */
	uint8_t ttl;                        /* 1..255, default 255 */
};

struct conf_monitor {
	char name[CONF_NAME_MAX];
	char description[CONF_TEXT_MAX];
	char record[CONF_NAME_MAX];         /* a flow record or a built-in; "" = none */
	char exporter[CONF_MON_EXPORTERS][CONF_NAME_MAX];
	size_t nexporter;
	struct conf_cache cache;            /* defaults: 4096 entries, 1800 / 15 s, normal */
};

enum conf_sampler_mode { CONF_SAMPLER_DETERMINISTIC = 0, CONF_SAMPLER_RANDOM };

struct conf_sampler {
	char name[CONF_NAME_MAX];
	char description[CONF_TEXT_MAX];
	enum conf_sampler_mode mode;
	uint32_t one_out_of;                /* 1 out-of N, N in 2..32768; 0 = mode not set */
};

/* --- interfaces ---------------------------------------------------------- */

enum conf_traffic { CONF_TR_IPV4 = 0, CONF_TR_IPV6, CONF_TR_L2 }; /* ip / ipv6 / layer2-switched */

struct conf_if_monitor {
	char monitor[CONF_NAME_MAX];
	char sampler[CONF_NAME_MAX];        /* "" = unsampled */
	enum conf_traffic traffic;
	uint8_t dir;                        /* 0 input, 1 output */
};

struct conf_iface {
	char name[CONF_NAME_MAX];           /* as written: eth0, GigabitEthernet3/1, a pcap name */
	char description[CONF_TEXT_MAX];
	char pcap[CONF_PATH_MAX];           /* ipflow: read this pcap file instead of a device */
	uint32_t ifindex;                   /* pcap: ifIndex its packets get (0: default 1) */
	bool ingress, egress;               /* ip flow ingress / egress (main cache) */
	char sampler[CONF_NAME_MAX];        /* flow-sampler NAME: main-cache sampling; "" = every packet */
	struct conf_if_monitor mon[CONF_IF_MONITOR_MAX];
	size_t nmon;
};

struct conf_alias {
	char ios[CONF_NAME_MAX];
	char linux_name[CONF_NAME_MAX];
};

/* --- host settings (ipflow extensions, `ipflow ...` lines) --------------- */

struct conf_host {
	char ctl_path[CONF_PATH_MAX];       /* control-socket; "" = default; "none" = off */
	char ctl_group[CONF_NAME_MAX];
	char pid_file[CONF_PATH_MAX];
	char user[CONF_NAME_MAX];           /* drop privileges to this user */
	bool syslog;                        /* logging syslog */
	char flowlog[CONF_PATH_MAX];        /* flow-log [jsonl:|csv:]PATH */
	uint32_t snaplen;                   /* capture snaplen, 0 = default */
	char filter[CONF_TEXT_MAX];         /* capture filter */
	double speed;                       /* replay-speed, 0 = as fast as possible */
	char routes[CONF_PATH_MAX];         /* route-table FILE: routing attributes; "" = none */
};

/* --- the whole configuration --------------------------------------------- */

struct conf {
	struct conf_cache cache;            /* ip flow-cache ... (main cache) */
	struct conf_export export;          /* ip flow-export ... (main cache) */
	struct conf_agg agg[CONF_AGG_MAX];
	size_t nagg;
	struct conf_record record[CONF_RECORD_MAX];
	size_t nrecord;
	struct conf_exporter exporter[CONF_EXPORTER_MAX];
	size_t nexporter;
	struct conf_monitor monitor[CONF_MONITOR_MAX];
	size_t nmonitor;
	struct conf_sampler sampler[CONF_SAMPLER_MAX];
	size_t nsampler;
	struct conf_iface iface[CONF_IFACE_MAX];
	size_t niface;
	struct conf_alias alias[CONF_ALIAS_MAX];
	size_t nalias;
	struct conf_host host;
};

/* An empty configuration (every default). Caller frees with conf_free. */
struct conf *conf_new(void);
void conf_free(struct conf *c);      /* NULL is a no-op */

/* --- diagnostics --------------------------------------------------------- */

enum conf_level { CONF_ERROR = 0, CONF_WARNING, CONF_NOTE };

struct conf_diag {
	enum conf_level level;
	const char *source;                 /* file name or "command line" */
	uint32_t line;                      /* 1-based */
	uint32_t col;                       /* 1-based column of word, 0 = whole line */
	const char *word;                   /* the offending word ("" at end of line) */
	const char *text;                   /* the message (IOS wording where the router has one) */
	const char *line_text;              /* the source line (no newline) */
};

typedef void (*conf_report_fn)(void *arg, const struct conf_diag *d);

/* "SOURCE:LINE:COL: error: TEXT" plus the line and a ^ under the word. */
void conf_diag_print(FILE *out, const struct conf_diag *d);

/* --- parser -------------------------------------------------------------- */

struct conf_parser;

/* A parser filling a fresh model. report may be NULL (diagnostics are
 * then only counted). NULL if out of memory. */
struct conf_parser *conf_parser_new(conf_report_fn report, void *arg);

/* Name the source of the following lines and where numbering starts (the
 * next line is first_line + 1). flags = true marks lines made from
 * command-line flags: no router-range warnings for them. */
void conf_parser_source(struct conf_parser *p, const char *name, uint32_t first_line, bool flags);

/* Parse one line (len bytes, trailing newline optional; NUL bytes are an
 * error). Returns 0, or -1 if the line had an error (already reported). */
int conf_parse_line(struct conf_parser *p, const char *line, size_t len);

/* Parse a whole file through conf_parse_line. -1 if it cannot be read
 * (reported as an error at line 0). */
int conf_parse_file(struct conf_parser *p, const char *path);

/* Counts so far. */
unsigned conf_parser_errors(const struct conf_parser *p);
unsigned conf_parser_warnings(const struct conf_parser *p);

/* Cross-checks that need the whole file, then frees p. Returns the model
 * (caller owns it), or NULL if any error was reported. */
struct conf *conf_parser_finish(struct conf_parser *p);

/* Parse a NUL-terminated text (tests, the fuzzer): the three calls above. */
struct conf *conf_parse_text(const char *text, size_t len, const char *name, conf_report_fn report, void *arg);

/* --- writer -------------------------------------------------------------- */

/* Print c in running-config form: IOS order, non-default values, sub-mode
 * lines indented. Parsing the output gives back an equal model
 * (conf_equal). */
void conf_write(FILE *out, const struct conf *c);

/* Same model? (field by field; unused bytes of names ignored) */
bool conf_equal(const struct conf *a, const struct conf *b);

/* --- lookups ------------------------------------------------------------- */

const struct conf_monitor *conf_find_monitor(const struct conf *c, const char *name);
const struct conf_exporter *conf_find_exporter(const struct conf *c, const char *name);
const struct conf_record *conf_find_record(const struct conf *c, const char *name);
const struct conf_sampler *conf_find_sampler(const struct conf *c, const char *name);
const struct conf_agg *conf_find_agg(const struct conf *c, enum conf_agg_scheme s);
/* The sampling interval of the main cache: N of the `flow-sampler` of the
 * first interface metered by the main cache that has one (1: unsampled).
 * The v5/v8 headers carry it. */
uint32_t conf_main_sampling(const struct conf *c);
/* The Linux device an interface name means (its alias, else itself). */
const char *conf_linux_name(const struct conf *c, const char *ifname);

/* Defaults, for show commands and the apply step. */
#define CONF_MAIN_ENTRIES_DEFAULT 65536u
#define CONF_AGG_ENTRIES_DEFAULT 4096u
#define CONF_MON_ENTRIES_DEFAULT 4096u
#define CONF_ACTIVE_DEFAULT_S 1800u
#define CONF_INACTIVE_DEFAULT_S 15u
#define CONF_FNF_PORT_DEFAULT 9995u
#define CONF_FNF_TIMEOUT_DEFAULT_S 600u

/* Effective value of a cache setting (the given one or the default). */
uint32_t conf_cache_entries(const struct conf_cache *c, uint32_t dflt);
uint32_t conf_cache_active(const struct conf_cache *c);
uint32_t conf_cache_inactive(const struct conf_cache *c);
/* Effective export version of a cache's export (9 main, 8 aggregation). */
int conf_export_version(const struct conf_export *e, bool agg);

#endif
