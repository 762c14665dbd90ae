/* CVE-2019-5736: a process in the container may reach the shim's /proc/PID/exe (through the container's /proc
 * while the shim is its init, or an fd to it kept open) and reopen it for writing once nothing executes it any
 * more. So the shim never runs from the host's file: first thing, it copies itself into a memfd, seals it
 * (no write, no resize, no more seal changes) and execs that copy. /proc/PID/exe then names a sealed memfd,
 * and no write through it can reach runt-shim on the host. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#ifndef MFD_EXEC /* Linux 6.3; older headers lack it */
#define MFD_EXEC 0x0010U
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

/* A copy of the file behind `self` in a new memfd, sealed; -1 with errno on failure. */
static int sealed_copy(int self)
{
	struct stat st;
	if (fstat(self, &st) < 0)
		return -1;
	/* MFD_EXEC: kernels that know vm.memfd_noexec want the wish said out loud; older ones refuse the flag */
	int mfd = memfd_create("runt-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create("runt-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -1;
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t k = sendfile(mfd, self, &off, (size_t)(st.st_size - off));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int err = k < 0 ? errno : EIO; /* EOF: the file shrank under us */
			close(mfd);
			errno = err;
			return -1;
		}
	}
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0) {
		int err = errno;
		close(mfd);
		errno = err;
		return -1;
	}
	return mfd;
}

void run_sealed(char **argv)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die_plan(errno, "open /proc/self/exe: %s", strerror(errno));
	int seals = fcntl(self, F_GET_SEALS); /* EINVAL for a file that is not a memfd */
	if (seals >= 0 && (seals & SEALS) == SEALS) {
		close(self);
		/* the command name came from the memfd's ("memfd:runt-shim"): ps shows runt-shim, as before */
		if (prctl(PR_SET_NAME, "runt-shim", 0, 0, 0) < 0)
			die_plan(errno, "prctl(PR_SET_NAME): %s", strerror(errno));
		return;
	}
	int mfd = sealed_copy(self);
	if (mfd < 0)
		die_plan(errno, "copy runt-shim into a sealed memfd (CVE-2019-5736): %s", strerror(errno));
	close(self);
	fexecve(mfd, argv, environ);
	die_plan(errno, "exec the sealed copy of runt-shim (CVE-2019-5736): %s", strerror(errno));
}
