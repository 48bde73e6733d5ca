/* show_conf.h — control-command output drawn from the configuration
 * model: show running-config, show ip flow interface, show flow monitor,
 * show flow exporter, show ip cache flow aggregation (for a scheme the
 * aggregation layer does not serve), each in the IOS layout or as JSON. */
#ifndef IPFLOW_SHOW_CONF_H
#define IPFLOW_SHOW_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"
#include "meter/meter.h"

/* The aggregation scheme a word names (unambiguous prefix), or -1. */
int show_conf_scheme(const char *word);

void show_conf_running(FILE *out, const struct conf *c, bool json);
/* Each configured interface: its NetFlow commands, the captures metering
 * it (with their counters) and the monitors attached. */
void show_conf_interfaces(FILE *out, const struct conf *c, struct meter *m, bool json);
/* a is NULL when the scheme is not configured. */
void show_conf_agg(FILE *out, const char *scheme, const struct conf_agg *a, bool json);
void show_conf_monitor(FILE *out, const struct conf *c, const struct conf_monitor *m, bool cache, bool json);
void show_conf_exporter(FILE *out, const struct conf_exporter *x, bool json);

/* s as a JSON string, quotes included. */
void show_json_str(FILE *out, const char *s);

#endif
