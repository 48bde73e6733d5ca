/* tmpl_enc.h — a flowrec template compiled for the export hot path.
 *
 *   struct tmpl_enc e;
 *   tmpl_enc_init(&e, t);                 // once, when the template is built
 *   tmpl_enc_put(&w, &e, r, &enc);        // per record: same bytes as tmpl_put_flowrec
 *
 * tmpl_put_flowrec() decides per field, per record, which flowrec member
 * an IE carries and how to fit it (a switch over the IE id, then a
 * saturating variable-width store). For a template that is fixed for the
 * exporter's life that decision is the same every time: tmpl_enc_init
 * takes it once and leaves a list of plain operations — copy 4 or 16
 * address bytes, store a 1/2/4/8-byte member at its own width, a 64-bit
 * counter into 4 bytes (saturating) — and hands every other field (times,
 * AS numbers in 2 bytes, ICMP, flowEndReason...) to the same per-field
 * writer tmpl_put_flowrec uses, so the output is byte-identical
 * (tests/unit/test_tmpl_enc.c checks it over every built-in template and
 * random ones). */
#ifndef IPFLOW_TMPL_ENC_H
#define IPFLOW_TMPL_ENC_H

#include "export/template.h"

struct tmpl_enc_op {
	uint16_t off;  /* in the record */
	uint16_t len;  /* on the wire */
	uint16_t src;  /* offset of the flowrec member */
	uint16_t ie;   /* for the per-field writer */
	uint8_t kind;
};

#define TMPL_ENC_KINDS 16
struct tmpl_enc {
	uint16_t n, reclen;
	/* ops grouped by kind: group k is op[end[k-1] .. end[k]) (end[-1] = 0),
	 * so each group is a tight loop without a per-field switch (fields
	 * never overlap, so the order of the writes does not matter) */
	uint16_t end[TMPL_ENC_KINDS];
	struct tmpl_enc_op op[TMPL_MAX_FIELDS];
};

/* ERR_ARG for a template with variable-length fields. */
int tmpl_enc_init(struct tmpl_enc *e, const struct tmpl *t);
/* As tmpl_put_flowrec(w, t, r, c) for the t e was made from. */
int tmpl_enc_put(struct wbuf *w, const struct tmpl_enc *e, const struct flowrec *r, struct rec_enc *c);

/* The per-field writer of tmpl_put_flowrec (template.c). */
void tmpl_put_field(uint8_t *p, uint16_t ie, unsigned len, const struct flowrec *r, struct rec_enc *c);

#endif
