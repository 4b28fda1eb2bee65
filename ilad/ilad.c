/* ilad: the node daemon. */
#include "config.h"

#include <stdio.h>

#include "daemon.h"

static const struct ila_daemon_info ilad_info = {
	.name = "ilad",
	.summary = "ILA node daemon: kernel ILA routes, local workloads, mapping cache",
	.default_conf = ILA_SYSCONFDIR "/ilad.conf",
	.kind = ILA_CONF_NODE,
};

int main(int argc, char **argv)
{
	struct ila_daemon_opts opts;
	struct ila_conf conf;

	ila_daemon_parse_args(&ilad_info, argc, argv, &opts);
	ila_daemon_load_conf(&ilad_info, &opts, &conf);
	fprintf(stderr, "ilad: this build checks configurations only (-n); the node runtime is not built yet\n");
	ila_conf_free(&conf);
	return 1;
}
