/* ila-mapper: the mapping directory. */
#include "config.h"

#include <stdio.h>

#include "daemon.h"

static const struct ila_daemon_info mapper_info = {
	.name = "ila-mapper",
	.summary = "ILA mapping directory: durable, authenticated, pushes changes to nodes",
	.default_conf = ILA_SYSCONFDIR "/ila-mapper.conf",
	.kind = ILA_CONF_MAPPER,
};

int main(int argc, char **argv)
{
	struct ila_daemon_opts opts;
	struct ila_conf conf;

	ila_daemon_parse_args(&mapper_info, argc, argv, &opts);
	ila_daemon_load_conf(&mapper_info, &opts, &conf);
	fprintf(stderr, "ila-mapper: this build checks configurations only (-n); the directory runtime is not built yet\n");
	ila_conf_free(&conf);
	return 1;
}
