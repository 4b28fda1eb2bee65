/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket server: vty framing over a real unix socket and libev. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ev.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control.h"
#include "log.h"

static int h_echo(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	int *calls = ctx;

	(*calls)++;
	ila_buf_printf(out, "echo %s%s\n", a->argc ? a->argv[0] : "-", a->json ? " json" : "");
	return ILA_CLI_SUCCESS;
}

static int h_big(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	(void)ctx;
	(void)a;
	for (int i = 0; i < 100000; i++)
		ila_buf_printf(out, "line %06d\n", i);
	return ILA_CLI_SUCCESS;
}

static struct ila_ctl_server *later_srv; /* for h_later */
static uint64_t later_ticket;

static int h_later(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	(void)ctx;
	(void)a;
	ila_buf_printf(out, "working\n");
	later_ticket = ila_ctl_defer(later_srv);
	return ILA_CLI_DEFERRED;
}

/* A command whose work sends a monitor event (as ilad's attach does). */
static int h_emit(void *ctx, const struct ila_cli_args *a, struct ila_buf *out)
{
	json_object *o = json_object_new_object();

	(void)ctx;
	(void)a;
	json_object_object_add(o, "detail", json_object_new_string("x"));
	ila_ctl_event(later_srv, "emit", o);
	ila_buf_printf(out, "emitted\n");
	return ILA_CLI_SUCCESS;
}

static const struct ila_cli_cmd cmds[] = {
	{ "emit", "sends a monitor event", h_emit },
	{ "echo [WORD]", "echo", h_echo },
	{ "big", "a large answer", h_big },
	{ "later", "answers when told", h_later },
	{ "show echo [WORD]", "echo, read-only", h_echo },
	{ "help", "read-only", h_echo },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

struct fixture {
	struct ev_loop *loop;
	struct ila_ctl_server *srv;
	char dir[64];
	char path[128];
	char ro[128];
	int calls;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/ila-ctl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
	snprintf(f->ro, sizeof(f->ro), "%s/ctl.ro.sock", f->dir);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	const struct ila_ctl_config cfg = {
		.path = f->path, .readonly_path = f->ro, .owner = (uid_t)-1, .group = (gid_t)-1,
	};
	if (ila_ctl_server_open(&f->srv, f->loop, &cfg, cmds, NCMDS, &f->calls, err,
				sizeof(err)) < 0)
		return -1;
	later_srv = f->srv;
	later_ticket = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ila_ctl_server_close(f->srv);
	ev_loop_destroy(f->loop);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Runs the loop until the client has an answer ending in 00 00 00 X. */
static size_t answer(struct fixture *f, int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (int i = 0; i < 100000; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ev_run(f->loop, EVRUN_NOWAIT);
		if (poll(&p, 1, 1) == 1) {
			ssize_t r = read(fd, buf + len, cap - len);

			if (r <= 0)
				return len;
			len += (size_t)r;
			if (len >= 4 && !buf[len - 4] && !buf[len - 3] && !buf[len - 2])
				return len;
		}
	}
	return len;
}

static void test_command_and_status(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path);
	char buf[256];
	size_t n;

	assert_int_equal(write(fd, "echo hi\0", 8), 8);
	n = answer(f, fd, buf, sizeof(buf));
	assert_int_equal(n, 8 + 4);
	assert_memory_equal(buf, "echo hi\n\0\0\0\0", 12);
	assert_int_equal(write(fd, "nonsense\0", 9), 9);
	n = answer(f, fd, buf, sizeof(buf));
	assert_int_equal((unsigned char)buf[n - 1], ILA_CLI_ERR_NO_MATCH);
	assert_int_equal(f->calls, 1);
	assert_int_equal(ila_ctl_server_stats(f->srv)->commands, 2);
	assert_int_equal(ila_ctl_server_stats(f->srv)->errors, 1);
	close(fd);
}

static void test_two_commands_in_one_write(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path);
	char buf[256];
	size_t n = 0;

	assert_int_equal(write(fd, "echo a\0echo b json\0", 19), 19);
	n = answer(f, fd, buf, sizeof(buf));
	if (n < 7 + 4 + 12 + 4)
		n += answer(f, fd, buf + n, sizeof(buf) - n);
	assert_int_equal(n, 7 + 4 + 12 + 4);
	assert_memory_equal(buf, "echo a\n\0\0\0\0echo b json\n\0\0\0\0", n);
	close(fd);
}

static void test_large_answer_drains(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path);
	size_t cap = 2 << 20, n;
	char *buf = malloc(cap);

	assert_int_equal(write(fd, "big\0", 4), 4);
	n = answer(f, fd, buf, cap);
	assert_int_equal(n, 100000 * 12 + 4);
	assert_memory_equal(buf + n - 16, "line 099999\n\0\0\0\0", 16);
	free(buf);
	close(fd);
}

static void test_oversized_command_drops_client(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path);
	char *big = malloc(ILA_CTL_MAX_CMD + 100);
	char buf[16];

	memset(big, 'x', ILA_CTL_MAX_CMD + 100);
	assert_int_equal(write(fd, big, ILA_CTL_MAX_CMD + 100), ILA_CTL_MAX_CMD + 100);
	assert_int_equal(answer(f, fd, buf, sizeof(buf)), 0); /* closed, no answer */
	assert_int_equal(ila_ctl_server_stats(f->srv)->oversized, 1);
	free(big);
	close(fd);
	/* the server still serves others */
	fd = client(f->path);
	assert_int_equal(write(fd, "echo ok\0", 8), 8);
	assert_int_equal(answer(f, fd, buf, sizeof(buf)), 12);
	close(fd);
}

static void test_live_socket_not_stolen(void **state)
{
	struct fixture *f = *state;
	struct ila_ctl_server *second;
	char err[256];
	struct stat st;

	const struct ila_ctl_config cfg = {
		.path = f->path, .owner = (uid_t)-1, .group = (gid_t)-1,
	};

	assert_int_equal(ila_ctl_server_open(&second, f->loop, &cfg, cmds, NCMDS, NULL, err,
					     sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "in use"));
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
}

/* Runs the loop a while; returns what the client received meanwhile. */
static size_t idle(struct fixture *f, int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (int i = 0; i < 50; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ev_run(f->loop, EVRUN_NOWAIT);
		if (poll(&p, 1, 1) == 1) {
			ssize_t r = read(fd, buf + len, cap - len);

			if (r <= 0)
				break;
			len += (size_t)r;
		}
	}
	return len;
}

static void test_deferred_answer(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path);
	char buf[256];
	size_t n;

	assert_int_equal(ila_ctl_defer(f->srv), 0); /* outside a command */
	/* the second command waits behind the deferred one */
	assert_int_equal(write(fd, "later\0echo x\0", 13), 13);
	n = idle(f, fd, buf, sizeof(buf));
	assert_true(later_ticket != 0);
	assert_int_equal(f->calls, 0);
	assert_true(n == 0 || (n == 8 && memcmp(buf, "working\n", 8) == 0));
	ila_ctl_answer(f->srv, later_ticket + 1000, ILA_CLI_SUCCESS, "wrong ticket\n");
	ila_ctl_answer(f->srv, later_ticket, ILA_CLI_WARNING, "done\n");
	ila_ctl_answer(f->srv, later_ticket, ILA_CLI_SUCCESS, "twice\n"); /* ignored */
	while (n < 8 + 5 + 4 + 7 + 4) {
		size_t m = answer(f, fd, buf + n, sizeof(buf) - n);

		if (!m)
			break;
		n += m;
	}
	assert_int_equal(n, 8 + 5 + 4 + 7 + 4);
	assert_memory_equal(buf, "working\ndone\n\0\0\0\1echo x\n\0\0\0\0", n);
	assert_int_equal(f->calls, 1);
	close(fd);
}

static void test_deferred_client_gone(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path);
	char buf[64];

	assert_int_equal(write(fd, "later\0", 6), 6);
	idle(f, fd, buf, sizeof(buf));
	assert_true(later_ticket != 0);
	close(fd);
	idle(f, -1, buf, sizeof(buf));
	/* answered after the client left: nothing breaks, the slot is freed */
	ila_ctl_answer(f->srv, later_ticket, ILA_CLI_SUCCESS, "late\n");
	idle(f, -1, buf, sizeof(buf));
	fd = client(f->path);
	assert_int_equal(write(fd, "echo ok\0", 8), 8);
	assert_int_equal(answer(f, fd, buf, sizeof(buf)), 12);
	close(fd);
}

/*
 * A monitor client that sends a command and goes away: the event its own
 * command sends fails to reach it. The client used to be freed inside its
 * own command, which then wrote its status into freed memory (ASan:
 * heap-use-after-free); it is freed once the command returned.
 */
static void test_client_gone_during_own_command_is_freed_after_it(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path), other;
	char buf[64];

	assert_int_equal(write(fd, "monitor\0emit\0", 13), 13);
	close(fd);
	idle(f, -1, buf, sizeof(buf));
	assert_int_equal(ila_ctl_server_stats(f->srv)->commands, 2);
	/* the server goes on serving */
	other = client(f->path);
	assert_int_equal(write(other, "echo ok\0", 8), 8);
	assert_int_equal(answer(f, other, buf, sizeof(buf)), 12);
	close(other);
}

/* ---- the read-only socket, the sockets' modes and owners, the peer's credentials ---- */

static void test_socket_modes(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(stat(f->ro, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);
}

static void test_readonly_refuses_state_changing(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->ro);
	char buf[512];
	size_t n;

	/* full name and abbreviation alike: refused, not run, counted */
	assert_int_equal(write(fd, "echo x\0", 7), 7);
	n = answer(f, fd, buf, sizeof(buf));
	assert_true(n > 4);
	assert_int_equal((unsigned char)buf[n - 1], ILA_CLI_WARNING);
	buf[n - 4] = '\0';
	assert_non_null(strstr(buf, "refused"));
	assert_non_null(strstr(buf, f->path)); /* says where to go instead */
	assert_int_equal(write(fd, "ec y\0", 5), 5);
	n = answer(f, fd, buf, sizeof(buf));
	assert_int_equal((unsigned char)buf[n - 1], ILA_CLI_WARNING);
	assert_int_equal(f->calls, 0);
	assert_int_equal(ila_ctl_server_stats(f->srv)->readonly_refused, 2);
	/* an unknown command is an error as on the other socket, not a refusal */
	assert_int_equal(write(fd, "nonsense\0", 9), 9);
	n = answer(f, fd, buf, sizeof(buf));
	assert_int_equal((unsigned char)buf[n - 1], ILA_CLI_ERR_NO_MATCH);
	assert_int_equal(ila_ctl_server_stats(f->srv)->readonly_refused, 2);
	close(fd);
}

static void test_readonly_serves_show_and_help(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->ro);
	char buf[256];
	size_t n;

	assert_int_equal(write(fd, "show echo hi\0", 13), 13);
	n = answer(f, fd, buf, sizeof(buf));
	assert_int_equal(n, 8 + 4);
	assert_memory_equal(buf, "echo hi\n\0\0\0\0", 12);
	assert_int_equal(write(fd, "help\0", 5), 5);
	n = answer(f, fd, buf, sizeof(buf));
	assert_int_equal((unsigned char)buf[n - 1], ILA_CLI_SUCCESS);
	assert_int_equal(f->calls, 2);
	assert_int_equal(ila_ctl_server_stats(f->srv)->readonly_refused, 0);
	close(fd);
	/* the same command on the control socket runs */
	fd = client(f->path);
	assert_int_equal(write(fd, "echo x\0", 7), 7);
	n = answer(f, fd, buf, sizeof(buf));
	assert_memory_equal(buf, "echo x\n\0\0\0\0", 11);
	assert_int_equal(f->calls, 3);
	close(fd);
}

/* A monitor on the read-only socket sees what a command on the other one does. */
static void test_readonly_monitor(void **state)
{
	struct fixture *f = *state;
	int mon = client(f->ro), fd = client(f->path);
	char buf[512];
	size_t n;

	assert_int_equal(write(mon, "monitor json\0", 13), 13);
	idle(f, mon, buf, sizeof(buf));
	assert_true(ila_ctl_monitoring(f->srv));
	assert_int_equal(write(fd, "emit\0", 5), 5);
	answer(f, fd, buf, sizeof(buf));
	n = idle(f, mon, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"event\":\"emit\""));
	close(mon);
	close(fd);
}

struct captured {
	char lines[8][512];
	int n;
};

static void capture(enum ila_log_level level, const char *msg, void *arg)
{
	struct captured *c = arg;

	(void)level;
	if (c->n < 8)
		snprintf(c->lines[c->n++], sizeof(c->lines[0]), "%s", msg);
}

/* Every state-changing command is logged with who sent it; reads are not. */
static void test_peer_credentials_logged(void **state)
{
	struct fixture *f = *state;
	struct captured cap = { .n = 0 };
	char want[128], buf[256];
	int fd = client(f->path);

	ila_log_init("test", ILA_LOG_TO_STDERR, ILA_LOG_DEBUG);
	ila_log_set_callback(capture, &cap);
	assert_int_equal(write(fd, "show echo a\0", 12), 12);
	answer(f, fd, buf, sizeof(buf));
	assert_int_equal(cap.n, 0);
	assert_int_equal(write(fd, "echo \001b\0", 8), 8);
	answer(f, fd, buf, sizeof(buf));
	ila_log_set_callback(NULL, NULL);
	assert_int_equal(cap.n, 1);
	snprintf(want, sizeof(want), "from uid %u gid %u pid %d", (unsigned)getuid(),
		 (unsigned)getgid(), (int)getpid());
	assert_non_null(strstr(cap.lines[0], want));
	/* the client's control byte does not reach the log */
	assert_non_null(strstr(cap.lines[0], "'echo ?b'"));
	close(fd);
}

/* Both sockets are given to the configured owner and group. */
static void test_sockets_given_to_group(void **state)
{
	struct fixture *f = *state;
	struct ila_ctl_server *srv;
	char path[160], ro[160], err[256];
	gid_t gid = geteuid() == 0 ? 4242 : getgid();
	struct stat st;

	snprintf(path, sizeof(path), "%s/g.sock", f->dir);
	snprintf(ro, sizeof(ro), "%s/g.ro.sock", f->dir);
	const struct ila_ctl_config cfg = {
		.path = path, .readonly_path = ro, .owner = (uid_t)-1, .group = gid,
	};
	assert_int_equal(ila_ctl_server_open(&srv, f->loop, &cfg, cmds, NCMDS, NULL, err,
					     sizeof(err)),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(stat(ro, &st), 0);
	assert_int_equal(st.st_gid, gid);
	ila_ctl_server_close(srv);
	/* closing removes both */
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(stat(ro, &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_command_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_commands_in_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_answer_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_command_drops_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_socket_not_stolen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_client_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone_during_own_command_is_freed_after_it,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_refuses_state_changing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_serves_show_and_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_monitor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_credentials_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sockets_given_to_group, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
