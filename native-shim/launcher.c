/* runt: the command clients call. Clears the Node variables that slow down or change every start, then
 * execs node on the runtime's bundle, both paths fixed at build time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NODE_PATH_BIN
#error "build with -DNODE_PATH_BIN='\"/abs/path/to/node\"'"
#endif
#ifndef BUNDLE_PATH
#error "build with -DBUNDLE_PATH='\"/abs/path/to/runt.cjs\"'"
#endif

int main(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof *args);
	if (!args) {
		fprintf(stderr, "runt: out of memory\n");
		return 127;
	}
	args[0] = (char *)NODE_PATH_BIN;
	args[1] = (char *)BUNDLE_PATH;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	args[argc + 1] = NULL;
	unsetenv("NODE_OPTIONS");
	unsetenv("NODE_EXTRA_CA_CERTS");
	execv(NODE_PATH_BIN, args);
	fprintf(stderr, "runt: cannot exec node (%s): %s\n", NODE_PATH_BIN, strerror(errno));
	return 127;
}
