/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "clock.h"
#include "log.h"

#define LOG_MSG_MAX 1024
#define LOG_RL_SLOTS 16

/* One slot per recently seen message text, for the rate limiter. */
struct log_rl_slot {
	uint64_t hash;
	uint64_t window_start;
	unsigned count;
	unsigned suppressed;
	enum ila_log_level level;
};

/* The logger is process-wide by nature (like syslog itself). */
static struct {
	const char *ident;
	enum ila_log_target target;
	enum ila_log_level level;
	ila_log_cb cb;
	void *cb_arg;
	uint64_t rl_window_ms;
	unsigned rl_burst;
	uint64_t suppressed_total;
	struct log_rl_slot slots[LOG_RL_SLOTS];
	unsigned next_slot;
} logger = {
	.ident = "ila",
	.target = ILA_LOG_TO_STDERR,
	.level = ILA_LOG_INFO,
	.rl_window_ms = 10000,
	.rl_burst = 5,
};

static const char *const level_names[] = {
	[ILA_LOG_ERR] = "err",
	[ILA_LOG_WARNING] = "warning",
	[ILA_LOG_NOTICE] = "notice",
	[ILA_LOG_INFO] = "info",
	[ILA_LOG_DEBUG] = "debug",
};

void ila_log_init(const char *ident, enum ila_log_target target, enum ila_log_level level)
{
	logger.ident = ident;
	logger.target = target;
	logger.level = level;
	memset(logger.slots, 0, sizeof(logger.slots));
	if (target == ILA_LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void ila_log_set_level(enum ila_log_level level)
{
	logger.level = level;
}

enum ila_log_level ila_log_get_level(void)
{
	return logger.level;
}

void ila_log_set_callback(ila_log_cb cb, void *arg)
{
	logger.cb = cb;
	logger.cb_arg = arg;
	logger.target = ILA_LOG_TO_CALLBACK;
}

void ila_log_set_ratelimit(uint64_t window_ms, unsigned burst)
{
	logger.rl_window_ms = window_ms;
	logger.rl_burst = burst;
	memset(logger.slots, 0, sizeof(logger.slots));
}

uint64_t ila_log_suppressed(void)
{
	return logger.suppressed_total;
}

int ila_log_level_parse(const char *s, enum ila_log_level *out)
{
	for (size_t i = 0; i < ILA_ARRAY_SIZE(level_names); i++) {
		if (level_names[i] && strcasecmp(s, level_names[i]) == 0) {
			*out = (enum ila_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ila_log_level_name(enum ila_log_level level)
{
	if ((size_t)level < ILA_ARRAY_SIZE(level_names) && level_names[level])
		return level_names[level];
	return "unknown";
}

static void log_emit(enum ila_log_level level, const char *msg)
{
	switch (logger.target) {
	case ILA_LOG_TO_SYSLOG:
		syslog((int)level, "%s", msg);
		break;
	case ILA_LOG_TO_CALLBACK:
		if (logger.cb)
			logger.cb(level, msg, logger.cb_arg);
		break;
	case ILA_LOG_TO_STDERR:
	default:
		fprintf(stderr, "%s: %s%s%s\n", logger.ident,
			level <= ILA_LOG_WARNING ? ila_log_level_name(level) : "",
			level <= ILA_LOG_WARNING ? ": " : "", msg);
		break;
	}
}

static uint64_t log_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static void log_flush_slot(struct log_rl_slot *slot)
{
	char note[96];

	if (slot->suppressed == 0)
		return;
	snprintf(note, sizeof(note), "last message repeated %u more times (rate limited)",
		 slot->suppressed);
	log_emit(slot->level, note);
	slot->suppressed = 0;
}

/* Returns true when the message may be emitted now. */
static bool log_ratelimit_pass(enum ila_log_level level, const char *msg)
{
	uint64_t now, h;
	struct log_rl_slot *slot = NULL;

	if (logger.rl_burst == 0 || logger.rl_window_ms == 0)
		return true;
	now = ila_clock_mono_ms();
	h = log_hash(msg);
	for (unsigned i = 0; i < LOG_RL_SLOTS; i++) {
		if (logger.slots[i].count && logger.slots[i].hash == h) {
			slot = &logger.slots[i];
			break;
		}
	}
	if (!slot) {
		slot = &logger.slots[logger.next_slot];
		logger.next_slot = (logger.next_slot + 1) % LOG_RL_SLOTS;
		log_flush_slot(slot);
		*slot = (struct log_rl_slot){ .hash = h, .window_start = now, .level = level };
	}
	if (now - slot->window_start >= logger.rl_window_ms) {
		log_flush_slot(slot);
		slot->window_start = now;
		slot->count = 0;
	}
	slot->count++;
	if (slot->count > logger.rl_burst) {
		slot->suppressed++;
		logger.suppressed_total++;
		return false;
	}
	return true;
}

ILA_PRINTF(2, 0)
static void log_vlog(enum ila_log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* names from certificates and the network are in messages: a control
	 * byte (a newline, an escape sequence) never reaches a log */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (log_ratelimit_pass(level, msg))
		log_emit(level, msg);
}

void ila_log(enum ila_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > logger.level)
		return;
	va_start(ap, fmt);
	log_vlog(level, fmt, ap);
	va_end(ap);
}

void ila_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(ILA_LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
