#include "cache/flowrec.h"

const char *flow_end_str(enum flow_end e)
{
	static const char *const name[FLOW_END_MAX] = {
		[FLOW_END_IDLE] = "idle", [FLOW_END_ACTIVE] = "active",
		[FLOW_END_EOF] = "end-of-flow", [FLOW_END_EMERGENCY] = "emergency",
		[FLOW_END_SHUTDOWN] = "shutdown", [FLOW_END_IMMEDIATE] = "immediate",
	};
	return (unsigned)e < FLOW_END_MAX ? name[e] : "unknown";
}
