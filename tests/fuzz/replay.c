/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replays a fuzz target's seed corpus without libFuzzer, so every build runs
 * the corpus as a regression test. Prints one TAP result for the whole
 * directory; a crash or sanitizer report fails the test through the exit
 * status.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *n = realloc(buf, ncap);

			if (!n) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = n;
			cap = ncap;
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	/* A copy of exactly len bytes, so ASan sees any read past the input. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -ENOMEM;
	}
	if (len)
		memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned files = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s NAME CORPUS-DIR\n", argv[0]);
		return 2;
	}
	printf("1..1\n");
	DIR *d = opendir(argv[2]);
	if (!d) {
		printf("not ok 1 - %s corpus: %s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[2], de->d_name);
		int rc = replay_file(path);
		if (rc < 0) {
			printf("not ok 1 - %s corpus: %s: %s\n", argv[1], path, strerror(-rc));
			closedir(d);
			return 1;
		}
		files++;
	}
	closedir(d);
	if (files == 0) {
		printf("not ok 1 - %s corpus: %s is empty\n", argv[1], argv[2]);
		return 1;
	}
	printf("ok 1 - %s corpus replayed (%u inputs)\n", argv[1], files);
	return 0;
}
